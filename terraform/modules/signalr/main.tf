# Real-time broadcast to the dashboard. Serverless mode: the backend publishes
# through the REST API with the access key (from Key Vault) and answers the
# browser's negotiate with a redirect and a token; no hub server is kept.

resource "azurerm_signalr_service" "this" {
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  service_mode                  = "Serverless"
  public_network_access_enabled = true
  local_auth_enabled            = true
  connectivity_logs_enabled     = true
  messaging_logs_enabled        = true
  tags                          = var.tags

  sku {
    name     = var.sku
    capacity = var.capacity
  }

  cors {
    allowed_origins = var.allowed_origins
  }
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  name                       = "signalr-to-log-analytics"
  target_resource_id         = azurerm_signalr_service.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "allLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
