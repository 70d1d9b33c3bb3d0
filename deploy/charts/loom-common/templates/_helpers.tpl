{{/*
Helpers shared by every Loom chart. Each takes the chart's root context, or a dict
with "ctx" (the root context) and the component's own values, and is the one place
where a rule of tests/unit/deploy/policy.py (labels, images by digest, security)
is written.
*/}}

{{- define "loom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "loom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "loom.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "loom.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: (dict "ctx" . "component" "otel-collector") */}}
{{- define "loom.componentName" -}}
{{- printf "%s-%s" (include "loom.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: (dict "ctx" . "component" "ingestion-api") */}}
{{- define "loom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loom.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Labels of every object: (dict "ctx" . "component" "..." "version" "...").
"version" defaults to the chart's appVersion; third-party components pass their own.
*/}}
{{- define "loom.labels" -}}
{{ include "loom.selectorLabels" . }}
app.kubernetes.io/version: {{ default .ctx.Chart.AppVersion .version | quote }}
app.kubernetes.io/part-of: loom
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
An image reference by digest, never by a mutable tag: (dict "image" .Values.image).
Rendering fails with the fix when the digest is missing or malformed.
*/}}
{{- define "loom.image" -}}
{{- $digest := .image.digest | default "" -}}
{{- if not $digest -}}
{{- fail (printf "image %s: no released digest yet; the release workflow (.github/workflows/release.yml) pushes the image and writes image.digest (or set it to sha256:<64 hex digits>)" .image.repository) -}}
{{- end -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" $digest) -}}
{{- fail (printf "image %s: set image.digest to sha256:<64 hex digits> (images are pulled by digest, never by a mutable tag)" .image.repository) -}}
{{- end -}}
{{- printf "%s@%s" .image.repository $digest -}}
{{- end -}}

{{/* Environment variables from a map of values (sorted, so renders are stable). */}}
{{- define "loom.env" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
envFrom of a Loom container: (dict "configMaps" .Values.envFromConfigMaps "secret" name).
ConfigMaps first, so a Secret's key wins over a ConfigMap's of the same name.
*/}}
{{- define "loom.envFrom" -}}
{{- range .configMaps }}
- configMapRef:
    name: {{ . }}
{{- end }}
{{- with .secret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod-level security of every Loom pod: non-root, no privilege escalation, a read-only
root filesystem, the runtime's seccomp profile. Values may tighten, never loosen.
*/}}
{{- define "loom.podSecurityContext" -}}
{{- $uid := . | default 10001 -}}
runAsNonRoot: true
runAsUser: {{ $uid }}
runAsGroup: {{ $uid }}
fsGroup: {{ $uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "loom.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/*
The pod's writable scratch space (the root filesystem is read-only) and the model
weights, mounted read-only at /models: (dict "models" .Values.models).
*/}}
{{- define "loom.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .models.enabled }}
- name: models
  persistentVolumeClaim:
    claimName: {{ required "models.claimName: name the PersistentVolumeClaim that holds models/" .models.claimName }}
    readOnly: true
{{- end }}
{{- end -}}

{{- define "loom.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .models.enabled }}
- name: models
  mountPath: /models
  readOnly: true
{{- end }}
{{- end -}}

{{/*
A SealedSecret (sealed-secrets controller) from kubeseal's ciphertext in values; the
chart never holds a plain Secret: (dict "ctx" . "component" "..." "name" "..."
"encryptedData" .Values.sealedSecret.encryptedData). Renders nothing when empty.
*/}}
{{- define "loom.sealedSecret" -}}
{{- if .encryptedData }}
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: {{ .name }}
  labels:
    {{- include "loom.labels" . | nindent 4 }}
spec:
  encryptedData:
    {{- toYaml .encryptedData | nindent 4 }}
  template:
    metadata:
      name: {{ .name }}
      labels:
        {{- include "loom.labels" . | nindent 8 }}
    type: Opaque
{{- end }}
{{- end -}}
