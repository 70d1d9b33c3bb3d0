{{/* The labels of the chart's one component and the Secret its pods read. */}}
{{- define "ingest-api.labels" -}}
{{- include "loom.labels" (dict "ctx" . "component" "ingestion-api") -}}
{{- end -}}

{{- define "ingest-api.selectorLabels" -}}
{{- include "loom.selectorLabels" (dict "ctx" . "component" "ingestion-api") -}}
{{- end -}}

{{- define "ingest-api.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else if .Values.sealedSecret.encryptedData -}}
{{- include "loom.fullname" . -}}
{{- end -}}
{{- end -}}
