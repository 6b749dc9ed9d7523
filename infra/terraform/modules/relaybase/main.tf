# Installs the Relaybase Helm chart on an existing cluster. Credentials go into a
# Kubernetes Secret written here and reach the chart only by name (existingSecret), so
# they never appear in Helm values or the release history.

locals {
  chart    = coalesce(var.chart_path, "${path.module}/../../../../helm/relaybase")
  fullname = strcontains(var.release_name, "relaybase") ? var.release_name : "${var.release_name}-relaybase"
  tls      = var.tls_secret_name != ""
  public_url = "${local.tls ? "https" : "http"}://${var.public_hostname}"

  credentials_secret = "${local.fullname}-credentials"
  operator_token     = var.operator_api_enabled ? coalesce(var.operator_token, random_password.operator_token.result) : null
  billing_enabled    = var.billing != null
}

resource "kubernetes_namespace_v1" "relaybase" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "relaybase"
    }
  }
}

# Made on first apply and kept in the state; used only when operator_token is null.
resource "random_password" "operator_token" {
  length  = 48
  special = false
}

resource "kubernetes_secret_v1" "credentials" {
  metadata {
    name      = local.credentials_secret
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/part-of"    = "relaybase"
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }

  # Key names are the chart's existingSecretKeys defaults.
  data = merge(
    {
      DATABASE_URL = var.database_url
      REDIS_URL    = var.redis_url
    },
    local.operator_token == null ? {} : { OPERATOR_TOKEN = local.operator_token },
    local.billing_enabled ? {
      STRIPE_SECRET_KEY     = var.stripe_secret_key
      STRIPE_WEBHOOK_SECRET = var.stripe_webhook_secret
    } : {},
  )

  lifecycle {
    precondition {
      condition     = !local.billing_enabled || (var.stripe_secret_key != null && var.stripe_webhook_secret != null)
      error_message = "billing needs stripe_secret_key and stripe_webhook_secret."
    }
  }

  depends_on = [kubernetes_namespace_v1.relaybase]
}

resource "helm_release" "relaybase" {
  name      = var.release_name
  namespace = var.namespace
  chart     = local.chart
  version   = var.chart_version

  # A failed install or upgrade (a migration, a pod that never gets ready) is rolled back.
  atomic          = true
  cleanup_on_fail = true
  wait            = true
  timeout         = var.timeout_seconds
  values          = var.extra_values

  set {
    name  = "existingSecret"
    value = kubernetes_secret_v1.credentials.metadata[0].name
  }
  set {
    name  = "image.registry"
    value = var.image_registry
    type  = "string"
  }
  set {
    name  = "image.tag"
    value = var.image_tag
    type  = "string"
  }
  set {
    name  = "publicUrl"
    value = local.public_url
    type  = "string"
  }
  set {
    name  = "adapterMaxLen"
    value = var.adapter_max_len
  }
  set {
    name  = "ingress.enabled"
    value = true
  }
  set {
    name  = "ingress.hostname"
    value = var.public_hostname
    type  = "string"
  }
  set {
    name  = "ingress.className"
    value = var.ingress_class_name
    type  = "string"
  }
  set {
    name  = "ingress.tls"
    value = local.tls
  }
  set {
    name  = "ingress.tlsSecretName"
    value = var.tls_secret_name
    type  = "string"
  }
  set {
    name  = "controlPlane.cookieSecure"
    value = local.tls ? "true" : "false"
    type  = "string"
  }
  set {
    name  = "controlPlane.operatorApi.enabled"
    value = var.operator_api_enabled
  }
  set {
    name  = "controlPlane.billing.enabled"
    value = local.billing_enabled
  }
  set {
    name  = "controlPlane.billing.pricePro"
    value = local.billing_enabled ? var.billing.price_pro : ""
    type  = "string"
  }
  set {
    name  = "controlPlane.billing.priceScale"
    value = local.billing_enabled ? var.billing.price_scale : ""
    type  = "string"
  }
  set {
    name  = "realtimeNode.longPolling.enabled"
    value = var.long_polling_enabled
  }
  set {
    name  = "realtimeNode.autoscaling.enabled"
    value = true
  }
  set {
    name  = "realtimeNode.autoscaling.minReplicas"
    value = var.realtime_node_autoscaling.min_replicas
  }
  set {
    name  = "realtimeNode.autoscaling.maxReplicas"
    value = var.realtime_node_autoscaling.max_replicas
  }
  set {
    name  = "restApi.autoscaling.enabled"
    value = true
  }
  set {
    name  = "restApi.autoscaling.minReplicas"
    value = var.rest_api_autoscaling.min_replicas
  }
  set {
    name  = "restApi.autoscaling.maxReplicas"
    value = var.rest_api_autoscaling.max_replicas
  }
  # The chart rolls pods on ConfigMap changes only; this rolls them when a credential changes.
  dynamic "set" {
    for_each = ["controlPlane", "realtimeNode", "restApi"]
    content {
      name  = "${set.value}.podAnnotations.credentials-checksum"
      value = nonsensitive(sha256(jsonencode(kubernetes_secret_v1.credentials.data)))
      type  = "string"
    }
  }
  set {
    name  = "metrics.serviceMonitor.enabled"
    value = var.monitoring.service_monitor
  }
  set {
    name  = "metrics.prometheusRule.enabled"
    value = var.monitoring.prometheus_rule
  }
  set {
    name  = "metrics.serviceMonitor.labels.release"
    value = var.monitoring.release_label
    type  = "string"
  }
  set {
    name  = "metrics.prometheusRule.labels.release"
    value = var.monitoring.release_label
    type  = "string"
  }
}
