terraform {
  required_version = ">= 1.10.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.77, < 6.0"
    }
  }

  # Remote state in Azure Storage, one key per environment, set by its backend.hcl
  # (`tofu init -backend-config=../envs/<env>/backend.hcl`); bootstrap in terraform/README.md.
  backend "azurerm" {}
}

provider "azurerm" {
  subscription_id     = var.subscription_id
  tenant_id           = var.tenant_id
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on: a destroyed vault stays recoverable.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
    }

    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}
