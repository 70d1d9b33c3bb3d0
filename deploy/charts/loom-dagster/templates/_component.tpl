{{/* Labels per component, and the configuration every Loom Dagster process reads. */}}
{{- define "loom-dagster.labels" -}}
{{- include "loom.labels" (dict "ctx" .ctx "component" .component) -}}
{{- end -}}

{{- define "loom-dagster.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else if .Values.sealedSecret.encryptedData -}}
{{- include "loom.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The configuration every Loom Dagster process reads: the env ConfigMap and the Secret. */}}
{{- define "loom-dagster.envFrom" -}}
{{- $maps := concat .Values.envFromConfigMaps (list (printf "%s-env" (include "loom.fullname" .))) -}}
{{- include "loom.envFrom" (dict "configMaps" $maps "secret" (include "loom-dagster.secretName" .)) -}}
{{- end -}}
