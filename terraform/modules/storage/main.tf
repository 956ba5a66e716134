# History for the backend: signals, executions and order updates in Table
# Storage. TLS 1.2, no public blobs, a default-deny firewall that admits the
# backend's subnet; the backend authenticates with the connection string the
# env stores in Key Vault.

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
  shared_access_key_enabled       = true
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

  #checkov:skip=CKV2_AZURE_40:The backend reads the tables with the account key from Key Vault (the design's contract: connection string in Key Vault); Entra ID data-plane auth is a later change in the backend.
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys encrypt at rest; a customer-managed key adds a Key Vault key, an identity and a rotation process with no threat it answers here.
  #checkov:skip=CKV2_AZURE_33:No private endpoint (a private DNS zone and ~$7/month per environment); the firewall defaults to Deny and admits the backend's subnet by service endpoint.
  #checkov:skip=CKV_AZURE_59:Public network access stays on so that service endpoints and the named operator IPs work; the firewall's default action is Deny.
  #checkov:skip=CKV_AZURE_206:Replication is chosen per environment (dev LRS for cost, prod ZRS); history can be rebuilt from the edge's journal and outbox.
  #checkov:skip=CKV_AZURE_33:Queue service logging does not apply: the account holds tables only; table-service logs go to Log Analytics through the diagnostic setting below.
  #checkov:skip=CKV2_AZURE_38:Soft delete applies to blobs and containers (set to 7 days above); the account holds tables, for which Azure offers no soft delete.
}

resource "azurerm_storage_table" "history" {
  for_each = var.table_names

  name               = each.key
  storage_account_id = azurerm_storage_account.this.id

  #checkov:skip=CKV2_AZURE_20:Table reads, writes and deletes are logged to Log Analytics by the diagnostic setting on tableServices/default below; checkov only recognises the legacy azurerm_log_analytics_storage_insights, which needs the account key.
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
