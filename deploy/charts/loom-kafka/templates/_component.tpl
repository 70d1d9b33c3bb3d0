{{/* Labels of each resource: (dict "ctx" . "component" "...") */}}
{{- define "loom-kafka.labels" -}}
{{- include "loom.labels" . }}
strimzi.io/cluster: {{ .ctx.Values.cluster }}
{{- end -}}
