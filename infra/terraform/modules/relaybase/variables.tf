# Inputs of the Relaybase module: where to install, the image, the public host, and the
# credentials (kept in a Kubernetes Secret this module writes; never in Helm values).

variable "namespace" {
  type        = string
  description = "Kubernetes namespace of the release."
  default     = "relaybase"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace must be a DNS label: lower-case letters, digits and '-', at most 63 characters."
  }
}

variable "create_namespace" {
  type        = bool
  description = "Create the namespace (false: it exists already)."
  default     = true
}

variable "release_name" {
  type        = string
  description = "Helm release name; resources are named <release>-relaybase-<component> (or <release>-<component> when the name contains 'relaybase')."
  default     = "relaybase"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.release_name)) && length(var.release_name) <= 40
    error_message = "release_name must be a DNS label of at most 40 characters."
  }
}

variable "chart_path" {
  type        = string
  description = "Path (or repository URL with chart_version) of the Relaybase chart. Null: helm/relaybase of this repository."
  default     = null
}

variable "chart_version" {
  type        = string
  description = "Chart version when chart_path names a chart repository; null for a local chart."
  default     = null
}

variable "image_registry" {
  type        = string
  description = "Registry holding the images built from the repository's Dockerfile (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/relaybase)."

  validation {
    condition     = length(var.image_registry) > 0 && !can(regex("://", var.image_registry))
    error_message = "image_registry is a registry host and path, without a scheme."
  }
}

variable "image_tag" {
  type        = string
  description = "Tag of every image; empty: the chart's appVersion."
  default     = ""
}

variable "public_hostname" {
  type        = string
  description = "Host name clients, servers and the console use; PUBLIC_URL is https://<public_hostname> with TLS."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.public_hostname))
    error_message = "public_hostname must be a lower-case host name without scheme or path."
  }
}

variable "ingress_class_name" {
  type        = string
  description = "IngressClass of the ingress controller (the chart adds ingress-nginx annotations for WebSocket timeouts and affinity)."
  default     = "nginx"
}

variable "tls_secret_name" {
  type        = string
  description = "Secret with the TLS certificate of public_hostname (e.g. made by cert-manager); empty: plain HTTP at the ingress."
  default     = ""
}

variable "database_url" {
  type        = string
  description = "Postgres URL of the control plane (postgres://user:password@host:5432/db?sslmode=...). Written to the credentials Secret."
  sensitive   = true

  validation {
    condition     = can(regex("^postgres(ql)?://", var.database_url))
    error_message = "database_url must start with postgres:// or postgresql://."
  }
}

variable "redis_url" {
  type        = string
  description = "Redis URL shared by every service (redis:// or rediss:// for TLS). Written to the credentials Secret."
  sensitive   = true

  validation {
    condition     = can(regex("^rediss?://", var.redis_url))
    error_message = "redis_url must start with redis:// or rediss://."
  }
}

variable "operator_api_enabled" {
  type        = bool
  description = "Turn on the operator API (/operator/v1/...: per-app limit overrides). Not routed by the ingress."
  default     = false
}

variable "operator_token" {
  type        = string
  description = "Bearer token of the operator API; null with operator_api_enabled: a random one is generated (see the operator_token output)."
  default     = null
  sensitive   = true

  validation {
    condition     = var.operator_token == null || length(coalesce(var.operator_token, "x")) >= 24
    error_message = "operator_token must be at least 24 characters."
  }
}

variable "billing" {
  type = object({
    price_pro   = string
    price_scale = string
  })
  description = "Stripe billing (docs/billing.md): the price ids of the pro and scale plans; null: billing off, every org keeps its plan. Needs stripe_secret_key and stripe_webhook_secret."
  default     = null

  validation {
    condition = var.billing == null || (
      can(regex("^price_", var.billing.price_pro)) &&
      can(regex("^price_", var.billing.price_scale)) &&
      var.billing.price_pro != var.billing.price_scale
    )
    error_message = "billing needs two different price_ ids."
  }
}

variable "stripe_secret_key" {
  type        = string
  description = "Stripe secret key (sk_... or a restricted rk_...) when billing is set. Written to the credentials Secret."
  default     = null
  sensitive   = true

  validation {
    condition     = var.stripe_secret_key == null || can(regex("^(sk|rk)_", coalesce(var.stripe_secret_key, "x")))
    error_message = "stripe_secret_key must start with sk_ or rk_."
  }
}

variable "stripe_webhook_secret" {
  type        = string
  description = "Signing secret (whsec_...) of the Stripe webhook endpoint <public URL>/webhooks/stripe when billing is set. Written to the credentials Secret."
  default     = null
  sensitive   = true

  validation {
    condition     = var.stripe_webhook_secret == null || can(regex("^whsec_", coalesce(var.stripe_webhook_secret, "x")))
    error_message = "stripe_webhook_secret must start with whsec_."
  }
}

variable "long_polling_enabled" {
  type        = bool
  description = "Let clients fall back to HTTP long-polling; turns on sticky sessions at the ingress. WebSocket alone needs none."
  default     = false
}

variable "realtime_node_autoscaling" {
  type = object({
    min_replicas = number
    max_replicas = number
  })
  description = "Replica range of the realtime nodes' HorizontalPodAutoscaler."
  default     = { min_replicas = 2, max_replicas = 10 }

  validation {
    condition     = var.realtime_node_autoscaling.min_replicas >= 1 && var.realtime_node_autoscaling.min_replicas <= var.realtime_node_autoscaling.max_replicas
    error_message = "realtime_node_autoscaling needs 1 <= min_replicas <= max_replicas."
  }
}

variable "rest_api_autoscaling" {
  type = object({
    min_replicas = number
    max_replicas = number
  })
  description = "Replica range of the REST publish API's HorizontalPodAutoscaler."
  default     = { min_replicas = 2, max_replicas = 10 }

  validation {
    condition     = var.rest_api_autoscaling.min_replicas >= 1 && var.rest_api_autoscaling.min_replicas <= var.rest_api_autoscaling.max_replicas
    error_message = "rest_api_autoscaling needs 1 <= min_replicas <= max_replicas."
  }
}

variable "adapter_max_len" {
  type        = number
  description = "ADAPTER_MAX_LEN: entries kept in the shared adapter stream (docs/scaling.md: messages per second x seconds of recovery window)."
  default     = 10000

  validation {
    condition     = var.adapter_max_len >= 1000 && floor(var.adapter_max_len) == var.adapter_max_len
    error_message = "adapter_max_len must be a whole number of at least 1000."
  }
}

variable "monitoring" {
  type = object({
    service_monitor = bool
    prometheus_rule = bool
    release_label   = string
  })
  description = "Prometheus Operator objects: ServiceMonitors, the PrometheusRule with the alerts, and the `release` label your Prometheus selects (empty: none)."
  default     = { service_monitor = false, prometheus_rule = false, release_label = "" }
}

variable "extra_values" {
  type        = list(string)
  description = "More Helm values files (YAML strings), applied after this module's settings; no credentials here."
  default     = []
}

variable "timeout_seconds" {
  type        = number
  description = "How long helm waits for the release (migrations Job included) to be ready; a failed release is rolled back."
  default     = 600

  validation {
    condition     = var.timeout_seconds >= 60
    error_message = "timeout_seconds must be at least 60."
  }
}
