{{/* Chart name, trimmed to the 63 characters Kubernetes allows in names and labels. */}}
{{- define "relaybase.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "relaybase.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's resources: <fullname>-<component>. Call with (dict "root" $ "component" "realtime-node"). */}}
{{- define "relaybase.componentName" -}}
{{- printf "%s-%s" (include "relaybase.fullname" .root | trunc 40 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "relaybase.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "relaybase.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: relaybase
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "relaybase.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relaybase.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "relaybase.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "relaybase.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag or @digest. Call with (dict "root" $ "image" .Values.controlPlane.image). */}}
{{- define "relaybase.image" -}}
{{- $g := .root.Values.image -}}
{{- $repo := .image.repository -}}
{{- if $g.registry }}{{ $repo = printf "%s/%s" $g.registry $repo }}{{ end -}}
{{- if $g.digest -}}
{{- printf "%s@%s" $repo $g.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $g.tag) -}}
{{- end -}}
{{- end -}}

{{/* PUBLIC_URL: the value, else the ingress host, else the control plane's Service. */}}
{{- define "relaybase.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl | trimSuffix "/" -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls) .Values.ingress.hostname -}}
{{- else -}}
{{- printf "http://%s:%d" (include "relaybase.componentName" (dict "root" . "component" "control-plane")) (int .Values.controlPlane.service.port) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the operator manages, with the credentials: existingSecret, else <fullname>-credentials. */}}
{{- define "relaybase.secretName" -}}
{{- default (printf "%s-credentials" (include "relaybase.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* The Secret holding the generated operator token (used when existingSecret is empty). */}}
{{- define "relaybase.generatedSecretName" -}}
{{- printf "%s-generated" (include "relaybase.fullname" .) -}}
{{- end -}}

{{/* One env entry read from a Secret key. */}}
{{- define "relaybase.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      optional: {{ .optional }}
{{- end -}}

{{/* Pod anti-affinity that prefers one replica per Kubernetes node, unless affinity is given. */}}
{{- define "relaybase.affinity" -}}
{{- if .values.affinity }}
{{- toYaml .values.affinity }}
{{- else }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "relaybase.selectorLabels" (dict "root" .root "component" .component) | nindent 12 }}
{{- end }}
{{- end -}}

{{/* The probes every component shares; only the timings come from values. */}}
{{- define "relaybase.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml .root.Values.startupProbe | nindent 2 }}
livenessProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml .root.Values.livenessProbe | nindent 2 }}
readinessProbe:
  httpGet: { path: /readyz, port: http }
  {{- toYaml .root.Values.readinessProbe | nindent 2 }}
{{- end -}}

{{/*
Settings the services would only discover at run time, refused at install time instead.
*/}}
{{- define "relaybase.validate" -}}
{{- $v := .Values -}}
{{- if and $v.controlPlane.billing.enabled (or (not $v.controlPlane.billing.pricePro) (not $v.controlPlane.billing.priceScale)) -}}
{{- fail "controlPlane.billing.enabled needs controlPlane.billing.pricePro and controlPlane.billing.priceScale." -}}
{{- end -}}
{{- $n := $v.realtimeNode -}}
{{- $drainSeconds := add (int $n.preStopSleepSeconds) (div (add (int $n.shutdownDeadlineMs) 999) 1000) -}}
{{- if le (int $n.terminationGracePeriodSeconds) (int $drainSeconds) -}}
{{- fail (printf "realtimeNode.terminationGracePeriodSeconds (%d) must be longer than preStopSleepSeconds + shutdownDeadlineMs (%d s), or Kubernetes kills nodes before their clients have moved." (int $n.terminationGracePeriodSeconds) (int $drainSeconds)) -}}
{{- end -}}
{{- range $name := list "controlPlane" "restApi" -}}
{{- $c := index $v $name -}}
{{- if le (int $c.terminationGracePeriodSeconds) (int $c.preStopSleepSeconds) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds must be longer than %s.preStopSleepSeconds." $name $name) -}}
{{- end -}}
{{- end -}}
{{- if and $v.ingress.enabled $v.ingress.tls (not $v.ingress.tlsSecretName) -}}
{{- fail "ingress.tls needs ingress.tlsSecretName." -}}
{{- end -}}
{{- end -}}
