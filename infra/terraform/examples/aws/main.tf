# An example root module: managed Postgres (RDS) and Redis (ElastiCache) in the cluster's
# VPC, reachable only from the cluster, and Relaybase installed on the existing EKS
# cluster with their URLs. Start from here; review sizes, backups and deletion settings.

resource "random_password" "postgres" {
  length  = 32
  special = false
}

# ElastiCache AUTH tokens: 16-128 printable characters, no '@', '"' or '/'.
resource "random_password" "redis" {
  length  = 48
  special = false
}

resource "aws_security_group" "postgres" {
  name        = "${var.name}-postgres"
  description = "Relaybase Postgres: from the cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Postgres from the cluster"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Relaybase Redis: from the cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Redis from the cluster"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_db_subnet_group" "postgres" {
  name       = "${var.name}-postgres"
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_instance" "postgres" {
  identifier     = "${var.name}-postgres"
  engine         = "postgres"
  engine_version = var.postgres.engine_version
  instance_class = var.postgres.instance_class

  allocated_storage     = var.postgres.allocated_storage_gb
  max_allocated_storage = var.postgres.allocated_storage_gb * 4
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = "relaybase"
  username = "relaybase"
  password = random_password.postgres.result

  db_subnet_group_name   = aws_db_subnet_group.postgres.name
  vpc_security_group_ids = [aws_security_group.postgres.id]
  publicly_accessible    = false
  multi_az               = var.postgres.multi_az

  # Automated backups with point-in-time recovery (docs/self-hosting.md#postgres-backups).
  backup_retention_period   = var.postgres.backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-postgres-final"

  auto_minor_version_upgrade   = true
  performance_insights_enabled = true
}

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${var.name}-redis"
  subnet_ids = var.private_subnet_ids
}

# Relaybase keeps room history, the tenant directory and the adapter stream in Redis:
# evicting keys would lose them silently, so Redis must refuse writes when full instead.
resource "aws_elasticache_parameter_group" "redis" {
  name   = "${var.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${var.name}-redis"
  description          = "Relaybase: adapter stream, room history, tenant directory, limits"
  engine               = "redis"
  engine_version       = var.redis.engine_version
  node_type            = var.redis.node_type
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  port                 = 6379

  # Cluster mode off: one shard, so the one adapter stream and every Lua script's keys
  # live on one primary. Replicas give Multi-AZ failover (ElastiCache offers no AOF on
  # Redis 7; replication and snapshots are its durability).
  num_cache_clusters         = 1 + var.redis.replicas
  automatic_failover_enabled = var.redis.replicas > 0
  multi_az_enabled           = var.redis.replicas > 0

  subnet_group_name  = aws_elasticache_subnet_group.redis.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.redis.result

  snapshot_retention_limit = var.redis.snapshot_retention_days
  snapshot_window          = "02:00-03:00"
}

locals {
  # sslmode=no-verify: encrypted, without checking RDS's certificate (its CA is not in
  # Node.js's bundle). To verify it, add the RDS CA bundle to the image, set
  # NODE_EXTRA_CA_CERTS through controlPlane.extraEnv and use sslmode=verify-full.
  database_url = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=no-verify",
    aws_db_instance.postgres.username,
    urlencode(random_password.postgres.result),
    aws_db_instance.postgres.address,
    aws_db_instance.postgres.port,
    aws_db_instance.postgres.db_name,
  )
  redis_url = format(
    "rediss://:%s@%s:%d/0",
    urlencode(random_password.redis.result),
    aws_elasticache_replication_group.redis.primary_endpoint_address,
    aws_elasticache_replication_group.redis.port,
  )
}

module "relaybase" {
  source = "../../modules/relaybase"

  namespace       = "relaybase"
  release_name    = "relaybase"
  image_registry  = var.image_registry
  image_tag       = var.image_tag
  public_hostname = var.public_hostname
  tls_secret_name = var.tls_secret_name
  database_url    = local.database_url
  redis_url       = local.redis_url

  operator_api_enabled = true
  monitoring = {
    service_monitor = true
    prometheus_rule = true
    release_label   = "kube-prometheus-stack"
  }
}
