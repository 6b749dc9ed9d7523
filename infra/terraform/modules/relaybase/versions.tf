terraform {
  required_version = ">= 1.5.0"

  required_providers {
    helm = {
      source = "hashicorp/helm"
      # 2.x: `set` blocks. The 3.x provider takes `set = [...]` lists instead.
      version = ">= 2.12.0, < 3.0.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.25.0, < 3.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5.0, < 4.0.0"
    }
  }
}
