{{/*
Shared templates. Each service's files are one line that includes these with
(dict "root" $ "name" SERVICE), so every service is rendered the same way.
*/}}

{{- define "agentdeck.module" -}}
{{- $modules := dict "planner" "agentdeck.planner.main" "policy-checker" "agentdeck.policy_checker.main" "approval" "agentdeck.approval.main" "tool-executor" "agentdeck.tool_executor.main" "telemetry" "agentdeck.telemetry.main" -}}
{{- required (printf "unknown service %s" .) (index $modules .) -}}
{{- end -}}

{{- define "agentdeck.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agentdeck.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "agentdeck.serviceAccountName" -}}
{{- default .Release.Name .Values.serviceAccount.name -}}
{{- end -}}

{{- define "agentdeck.labels" -}}
app.kubernetes.io/name: agentdeck
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "agentdeck.selector" -}}
app.kubernetes.io/name: agentdeck
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "agentdeck.secretName" -}}
{{- $svc := index .root.Values.services .name -}}
{{- default (include "agentdeck.fullname" .) $svc.existingSecret -}}
{{- end -}}

{{- define "agentdeck.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agentdeck.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "agentdeck.databaseEnv" -}}
- name: AGENTDECK_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- end -}}

{{- define "agentdeck.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ .Values.kafka.topicPrefix | quote }}
- name: KAFKA_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
{{- end -}}

{{- define "agentdeck.configmap" -}}
{{- $root := .root -}}
{{- $svc := index $root.Values.services .name -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
data:
  KAFKA_BOOTSTRAP_SERVERS: {{ required "kafka.bootstrapServers is required" $root.Values.kafka.bootstrapServers | quote }}
  KAFKA_TOPIC_PREFIX: {{ $root.Values.kafka.topicPrefix | quote }}
  KAFKA_PARTITIONS: {{ $root.Values.kafka.partitions | quote }}
  AGENTDECK_REDIS_URL: {{ $root.Values.redis.url | quote }}
  AGENTDECK_HEALTH_PORT: {{ $root.Values.healthPort | quote }}
  AGENTDECK_DATA_DIR: /var/lib/agentdeck
  {{- if eq .name "approval" }}
  AGENTDECK_APPROVAL_HTTP_HOST: "0.0.0.0"
  AGENTDECK_APPROVAL_HTTP_PORT: {{ $root.Values.approvalApi.port | quote }}
  {{- end }}
  {{- if and (eq .name "telemetry") $root.Values.otlpEndpoint }}
  AGENTDECK_TELEMETRY_OTLP_ENDPOINT: {{ $root.Values.otlpEndpoint | quote }}
  {{- end }}
  {{- range $key, $value := $svc.env }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
{{- end -}}

{{- define "agentdeck.secret" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if and $svc.secretEnv (not $svc.existingSecret) -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{- range $key, $value := $svc.secretEnv }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
{{- end -}}
{{- end -}}

{{- define "agentdeck.deployment" -}}
{{- $root := .root -}}
{{- $svc := index $root.Values.services .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
spec:
  {{- if not (or $svc.autoscaling.enabled $svc.keda.enabled) }}
  replicas: {{ $svc.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "agentdeck.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "agentdeck.selector" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "agentdeck.serviceAccountName" $root }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "agentdeck.podSecurityContext" . | nindent 8 }}
      containers:
        - name: {{ .name }}
          image: {{ include "agentdeck.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["python", "-m", {{ include "agentdeck.module" .name | quote }}]
          envFrom:
            - configMapRef:
                name: {{ include "agentdeck.fullname" . }}
            - secretRef:
                name: {{ include "agentdeck.secretName" . }}
          env:
            {{- include "agentdeck.databaseEnv" $root | nindent 12 }}
          ports:
            - name: health
              containerPort: {{ $root.Values.healthPort }}
            {{- if eq .name "approval" }}
            - name: api
              containerPort: {{ $root.Values.approvalApi.port }}
            {{- end }}
          startupProbe:
            httpGet: {path: /livez, port: health}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: {path: /livez, port: health}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /readyz, port: health}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "agentdeck.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - {name: data, mountPath: /var/lib/agentdeck}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: data, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
{{- end -}}

{{- define "agentdeck.pdb" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if $svc.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $svc.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "agentdeck.selector" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{- define "agentdeck.hpa" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if and $svc.autoscaling.enabled (not $svc.keda.enabled) -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "agentdeck.fullname" . }}
  minReplicas: {{ $svc.autoscaling.minReplicas }}
  maxReplicas: {{ $svc.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $svc.autoscaling.targetCPUUtilizationPercentage }}
{{- end -}}
{{- end -}}

{{- define "agentdeck.scaledobject" -}}
{{- $root := .root -}}
{{- $svc := index $root.Values.services .name -}}
{{- if $svc.keda.enabled -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ include "agentdeck.fullname" . }}
  minReplicaCount: {{ $svc.keda.minReplicas }}
  maxReplicaCount: {{ $svc.keda.maxReplicas }}
  triggers:
    - type: kafka
      metadata:
        bootstrapServers: {{ $root.Values.kafka.bootstrapServers | quote }}
        consumerGroup: {{ printf "agentdeck-%s.%s" .name $svc.keda.subscription | quote }}
        lagThreshold: {{ $svc.keda.lagThreshold | quote }}
        allowIdleConsumers: "false"
{{- end -}}
{{- end -}}

{{- define "agentdeck.job" -}}
{{- $root := .root -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "agentdeck.fullname" . }}
  labels:
    {{- include "agentdeck.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ $root.Values.jobs.backoffLimit }}
  ttlSecondsAfterFinished: {{ $root.Values.jobs.ttlSecondsAfterFinished }}
  template:
    metadata:
      labels:
        {{- include "agentdeck.selector" . | nindent 8 }}
    spec:
      restartPolicy: OnFailure
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "agentdeck.podSecurityContext" . | nindent 8 }}
      containers:
        - name: {{ .name }}
          image: {{ include "agentdeck.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["python", "-c", {{ .script | quote }}]
          env:
            {{- .env | nindent 12 }}
          resources:
            requests: {cpu: 50m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          securityContext:
            {{- include "agentdeck.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: tmp, emptyDir: {}}
{{- end -}}
