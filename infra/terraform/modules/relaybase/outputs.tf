output "namespace" {
  description = "Namespace of the release."
  value       = helm_release.relaybase.namespace
}

output "release_name" {
  description = "Helm release name (for helm status, helm history, helm rollback)."
  value       = helm_release.relaybase.name
}

output "release_revision" {
  description = "Revision of the release after this apply; helm rollback takes it."
  value       = helm_release.relaybase.metadata[0].revision
}

output "public_url" {
  description = "PUBLIC_URL of the install: clients connect here (/socket.io/), servers publish to <public_url>/v1/apps/<appId>/publish."
  value       = local.public_url
}

output "credentials_secret_name" {
  description = "Kubernetes Secret holding DATABASE_URL, REDIS_URL and, when set, OPERATOR_TOKEN and the Stripe secrets."
  value       = kubernetes_secret_v1.credentials.metadata[0].name
}

output "services" {
  description = "In-cluster Service names of the components (port named http on each)."
  value = {
    control_plane = "${local.fullname}-control-plane"
    realtime_node = "${local.fullname}-realtime-node"
    rest_api      = "${local.fullname}-rest-api"
  }
}

output "operator_token" {
  description = "Bearer token of the operator API (null when it is off)."
  value       = local.operator_token
  sensitive   = true
}
