variable "region" {
  type        = string
  description = "AWS region of the cluster, the database and the cache."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the existing EKS cluster to install on."
}

variable "name" {
  type        = string
  description = "Name prefix of the AWS resources (RDS instance, ElastiCache group, security groups)."
  default     = "relaybase"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster; the database and the cache are placed in it."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets (at least two, in different availability zones) for the database and the cache."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "private_subnet_ids needs at least two subnet ids (subnet-...)."
  }
}

variable "client_security_group_ids" {
  type        = list(string)
  description = "Security groups of the cluster's nodes (or pods); only they may reach Postgres and Redis."

  validation {
    condition     = length(var.client_security_group_ids) >= 1
    error_message = "client_security_group_ids needs at least one security group."
  }
}

variable "postgres" {
  type = object({
    instance_class        = string
    allocated_storage_gb  = number
    engine_version        = string
    multi_az              = bool
    backup_retention_days = number
  })
  description = "RDS Postgres: size, version, Multi-AZ and how many days of automated backups (point-in-time recovery) to keep."
  default = {
    instance_class        = "db.t4g.medium"
    allocated_storage_gb  = 50
    engine_version        = "16"
    multi_az              = true
    backup_retention_days = 14
  }

  validation {
    condition     = var.postgres.backup_retention_days >= 1 && var.postgres.backup_retention_days <= 35
    error_message = "postgres.backup_retention_days must be 1-35 (0 would turn automated backups off)."
  }
  validation {
    condition     = var.postgres.allocated_storage_gb >= 20
    error_message = "postgres.allocated_storage_gb must be at least 20."
  }
}

variable "redis" {
  type = object({
    node_type               = string
    engine_version          = string
    replicas                = number
    snapshot_retention_days = number
  })
  description = "ElastiCache Redis (cluster mode off, one shard): node size, version, read replicas for Multi-AZ failover, days of daily snapshots."
  default = {
    node_type               = "cache.t4g.medium"
    engine_version          = "7.1"
    replicas                = 1
    snapshot_retention_days = 7
  }

  validation {
    condition     = var.redis.replicas >= 0 && var.redis.replicas <= 5
    error_message = "redis.replicas must be 0-5."
  }
}

variable "public_hostname" {
  type        = string
  description = "Host name of the install (a DNS record pointing at the ingress controller's load balancer)."
}

variable "tls_secret_name" {
  type        = string
  description = "Secret with the TLS certificate of public_hostname in the release namespace; empty: plain HTTP."
  default     = ""
}

variable "image_registry" {
  type        = string
  description = "Registry with the Relaybase images (e.g. an ECR repository prefix)."
}

variable "image_tag" {
  type        = string
  description = "Tag of the images; empty: the chart's appVersion."
  default     = ""
}
