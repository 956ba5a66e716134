terraform {
  required_version = ">= 1.10.0"

  required_providers {
    # 4.77 is the first release with every argument these modules use
    # (storage_account_id on tables, rbac_authorization_enabled); 5.x is
    # what the local mirror validates against (see terraform/README.md).
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.77, < 6.0"
    }
  }
}
