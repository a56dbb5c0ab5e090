{{- define "wages.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wages.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "wages.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The base path without a trailing slash: "" or "/wages". */}}
{{- define "wages.basePath" -}}
{{- $p := .Values.basePath | default "" | trimSuffix "/" -}}
{{- if and $p (not (hasPrefix "/" $p)) -}}
{{- fail (printf "basePath %q must start with /" $p) -}}
{{- end -}}
{{- $p -}}
{{- end -}}

{{/* Whether the embedded broker runs: no WAGES_MQTT_URL anywhere we can see. */}}
{{- define "wages.embeddedBroker" -}}
{{- if or (hasKey .Values.env "WAGES_MQTT_URL") (hasKey .Values.secretEnv "WAGES_MQTT_URL") .Values.existingSecret -}}
{{- else -}}true{{- end -}}
{{- end -}}

{{/* Several nodes need a shared database and broker: refuse what cannot work. */}}
{{- define "wages.checkScaleOut" -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- if include "wages.embeddedBroker" . -}}
{{- fail "replicaCount > 1 needs an external broker: set WAGES_MQTT_URL in secretEnv (or existingSecret); embedded brokers on several nodes would split the scales between them" -}}
{{- end -}}
{{- $db := (get .Values.secretEnv "WAGES_DATABASE_URL") | default (get .Values.env "WAGES_DATABASE_URL") | default "" -}}
{{- if and (not .Values.existingSecret) (not (hasPrefix "postgres" $db)) -}}
{{- fail "replicaCount > 1 needs PostgreSQL: set WAGES_DATABASE_URL=postgres://… in secretEnv (or existingSecret)" -}}
{{- end -}}
{{- $share := (get .Values.env "WAGES_MQTT_SHARE") | default "off" -}}
{{- $amqp := or (hasKey .Values.env "WAGES_AMQP_URL") (hasKey .Values.secretEnv "WAGES_AMQP_URL") -}}
{{- if and (not .Values.existingSecret) (eq $share "off") (not $amqp) -}}
{{- fail "replicaCount > 1 needs the readings split between the nodes: set env.WAGES_MQTT_SHARE (a group name; Mosquitto, EMQX) or WAGES_AMQP_URL in secretEnv (RabbitMQ); otherwise every node takes every reading" -}}
{{- end -}}
{{- end -}}
{{- end -}}
