{{/* The chart name, overridable. */}}
{{- define "dorgu-ws.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: release-chart, unless the release already says it. */}}
{{- define "dorgu-ws.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "dorgu-ws.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "dorgu-ws.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the pods. */}}
{{- define "dorgu-ws.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dorgu-ws.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account the pods run as. */}}
{{- define "dorgu-ws.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dorgu-ws.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Read-only access to what dorgu-ws watches. */}}
{{- define "dorgu-ws.readVerbs" -}}
["get", "list", "watch"]
{{- end -}}

{{/*
Host names clients reach the pods by: the Service's in-cluster names, then
those the user adds (an Ingress host, say). The server refuses others
(DNS rebinding).
*/}}
{{- define "dorgu-ws.allowedHosts" -}}
{{- $name := include "dorgu-ws.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .Values.clusterDomain) -}}
{{- concat $hosts .Values.allowedHosts | uniq | join "," -}}
{{- end -}}

{{/* The label selector of this release's series, for alerts. */}}
{{- define "dorgu-ws.seriesSelector" -}}
{{- .Values.prometheusRule.selector | default (printf "job=%q, namespace=%q" (include "dorgu-ws.fullname" .) .Release.Namespace) -}}
{{- end -}}

{{/* HTTPS when the chart mounts a TLS Secret. */}}
{{- define "dorgu-ws.scheme" -}}
{{- if .Values.tls.secretName }}HTTPS{{ else }}HTTP{{ end -}}
{{- end -}}
