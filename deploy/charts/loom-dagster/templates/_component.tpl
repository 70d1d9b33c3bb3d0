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
- configMapRef:
    name: {{ include "loom.fullname" . }}-env
{{- with (include "loom-dagster.secretName" .) }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}
