# History for the backend in Table Storage: the tables the backend uses (see
# table_names below), TLS 1.2, no public blobs, a default-deny firewall that
# admits the backend's subnet. No account keys: the backend signs in with its
# managed identity, which gets Storage Table Data Contributor on the account.

locals {
  # The backend's table roles (spyops.backend.store.table.TABLE_ROLES); the backend's names are
  # <prefix><role>. tests/terraform/test_backend_settings.py compares the two.
  table_roles = ["signals", "executions", "orders", "ids", "chains"]
  table_names = toset([for role in local.table_roles : "${var.table_prefix}${role}"])
}

resource "azurerm_storage_account" "this" {
  name                            = var.name
  location                        = var.location
  resource_group_name             = var.resource_group_name
  account_kind                    = "StorageV2"
  account_tier                    = "Standard"
  account_replication_type        = var.replication_type
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  public_network_access_enabled   = true
  tags                            = var.tags

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    ip_rules                   = var.allowed_ip_cidrs
    virtual_network_subnet_ids = var.allowed_subnet_ids
  }

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }

  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys encrypt at rest; a customer-managed key adds a Key Vault key, an identity and a rotation process with no threat it answers here.
  #checkov:skip=CKV2_AZURE_33:No private endpoint (a private DNS zone and ~$7/month per environment); the firewall defaults to Deny and admits the backend's subnet by service endpoint.
  #checkov:skip=CKV_AZURE_59:Public network access stays on so that service endpoints and the named operator IPs work; the firewall's default action is Deny.
  #checkov:skip=CKV_AZURE_206:Replication is chosen per environment (dev LRS for cost, prod ZRS); history can be rebuilt from the edge's journal and outbox.
  #checkov:skip=CKV_AZURE_33:Queue service logging does not apply: the account holds tables only; table-service logs go to Log Analytics through the diagnostic setting below.
  #checkov:skip=CKV2_AZURE_38:Soft delete applies to blobs and containers (set to 7 days above); the account holds tables, for which Azure offers no soft delete.
}

resource "azurerm_storage_table" "history" {
  for_each = local.table_names

  name               = each.key
  storage_account_id = azurerm_storage_account.this.id

  #checkov:skip=CKV2_AZURE_20:Table reads, writes and deletes are logged to Log Analytics by the diagnostic setting on tableServices/default below; checkov only recognises the legacy azurerm_log_analytics_storage_insights, which needs the account key.
}

# Read and write entities (and create the tables if missing) with an Entra ID token; no keys.
resource "azurerm_role_assignment" "table_data_contributor" {
  for_each = var.table_data_contributor_principal_ids

  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = each.value
}

resource "azurerm_monitor_diagnostic_setting" "tables" {
  name                       = "tables-to-log-analytics"
  target_resource_id         = "${azurerm_storage_account.this.id}/tableServices/default"
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "StorageRead"
  }

  enabled_log {
    category = "StorageWrite"
  }

  enabled_log {
    category = "StorageDelete"
  }

  enabled_metric {
    category = "Transaction"
  }
}
