# Remote state for prod (created once by the bootstrap in terraform/README.md).
resource_group_name  = "rg-spyops-tfstate"
storage_account_name = "stspyopstfstate01"
container_name       = "tfstate"
key                  = "prod.tfstate"
use_azuread_auth     = true
