output "public_url" {
  description = "Where clients connect and servers publish (point public_hostname's DNS record at the ingress load balancer first)."
  value       = module.relaybase.public_url
}

output "postgres_endpoint" {
  description = "RDS endpoint (host:port) of the control plane's database, for backups and psql."
  value       = aws_db_instance.postgres.endpoint
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint address every service connects to (TLS, AUTH token)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "namespace" {
  description = "Kubernetes namespace of the release."
  value       = module.relaybase.namespace
}

output "release_name" {
  description = "Helm release name, for helm history and helm rollback."
  value       = module.relaybase.release_name
}

output "credentials_secret_name" {
  description = "Kubernetes Secret with DATABASE_URL, REDIS_URL and OPERATOR_TOKEN."
  value       = module.relaybase.credentials_secret_name
}

output "operator_token" {
  description = "Bearer token of the operator API (terraform output -raw operator_token)."
  value       = module.relaybase.operator_token
  sensitive   = true
}
