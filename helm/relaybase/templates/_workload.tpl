{{/*
The Deployment every component shares. Call with a dict:
  root       the top context ($)
  component  realtime-node | control-plane | rest-api
  values     the component's values
  command    the container command (a list)
  config     the ConfigMap template's file name (its checksum rolls the pods on change)
  secretEnv  env entries read from Secrets (YAML list as a string), may be empty
*/}}
{{- define "relaybase.deployment" -}}
{{- $root := .root -}}
{{- $c := .values -}}
{{- $name := include "relaybase.componentName" (dict "root" $root "component" .component) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "relaybase.labels" (dict "root" $root "component" .component) | nindent 4 }}
  {{- with $root.Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if not (and $c.autoscaling $c.autoscaling.enabled) }}
  replicas: {{ $c.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Surge first: a new pod is ready before an old one starts to drain.
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "relaybase.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "relaybase.labels" (dict "root" $root "component" .component) | nindent 8 }}
        {{- with $c.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/" .config) $root | sha256sum }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "relaybase.serviceAccountName" $root }}
      automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      affinity:
        {{- include "relaybase.affinity" (dict "root" $root "component" .component "values" $c) | trim | nindent 8 }}
      {{- with $c.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "relaybase.image" (dict "root" $root "image" $c.image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $c.port }}
              protocol: TCP
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name }}
          {{- if or .secretEnv $c.extraEnv }}
          env:
            {{- with .secretEnv }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $c.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- end }}
          {{- include "relaybase.probes" (dict "root" $root) | nindent 10 }}
          lifecycle:
            preStop:
              # Kubernetes removes the pod from Service endpoints while this runs; SIGTERM
              # (and, on a realtime node, the drain) follows.
              exec:
                command: ["sleep", {{ $c.preStopSleepSeconds | quote }}]
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            # The root filesystem is read-only; Node and its libraries may still want a /tmp.
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
{{- end -}}

{{/* A ClusterIP (or other) Service in front of one component: ports http and metrics (scraped in-cluster, never routed). */}}
{{- define "relaybase.service" -}}
{{- $root := .root -}}
{{- $c := .values -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "relaybase.componentName" (dict "root" $root "component" .component) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "relaybase.labels" (dict "root" $root "component" .component) | nindent 4 }}
  {{- with (merge (dict) ($c.service.annotations | default dict) ($root.Values.commonAnnotations | default dict)) }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $c.service.type }}
  {{- if .sticky }}
  # Long-polling: the requests of one Engine.IO session must reach the same node.
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: {{ $root.Values.realtimeNode.longPolling.cookieMaxAgeSeconds }}
  {{- end }}
  selector:
    {{- include "relaybase.selectorLabels" (dict "root" $root "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ $c.service.port }}
      targetPort: http
      protocol: TCP
    - name: metrics
      port: {{ $root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
{{- end -}}

{{/* PodDisruptionBudget of one component. */}}
{{- define "relaybase.pdb" -}}
{{- if .values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "relaybase.componentName" (dict "root" .root "component" .component) }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "relaybase.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "relaybase.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* HorizontalPodAutoscaler of one component; scaleDownPodsPerMinute slows scale-down when set. */}}
{{- define "relaybase.hpa" -}}
{{- $a := .values.autoscaling -}}
{{- if $a.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "relaybase.componentName" (dict "root" .root "component" .component) }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "relaybase.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "relaybase.componentName" (dict "root" .root "component" .component) }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
    {{- if $a.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ $a.targetMemoryUtilizationPercentage }}
    {{- end }}
  {{- if $a.scaleDownPodsPerMinute }}
  behavior:
    # Every node removed sends its clients to reconnect elsewhere: remove them slowly.
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Pods
          value: {{ $a.scaleDownPodsPerMinute }}
          periodSeconds: 60
  {{- end }}
{{- end }}
{{- end -}}
