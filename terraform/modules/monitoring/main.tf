# Telemetry and the Azure-side alerts: backend 5xx rate, backend health check
# failing, VPN tunnel silent or connection unhealthy, Key Vault availability.
# The edge-side alerts (strategy, gateway, outbox) live in Prometheus.

resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${var.name_prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = "PerGB2018"
  retention_in_days   = var.retention_in_days
  daily_quota_gb      = var.daily_quota_gb
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                         = "appi-${var.name_prefix}"
  location                     = var.location
  resource_group_name          = var.resource_group_name
  workspace_id                 = azurerm_log_analytics_workspace.this.id
  application_type             = "web"
  ip_masking_enabled           = true
  local_authentication_enabled = true
  tags                         = var.tags
}

resource "azurerm_monitor_action_group" "this" {
  name                = "ag-${var.name_prefix}"
  resource_group_name = var.resource_group_name
  short_name          = substr(replace(var.name_prefix, "-", ""), 0, 12)
  tags                = var.tags

  dynamic "email_receiver" {
    for_each = var.alert_emails
    content {
      name                    = email_receiver.key
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

resource "azurerm_monitor_metric_alert" "backend_5xx" {
  name                = "alert-${var.name_prefix}-backend-5xx"
  resource_group_name = var.resource_group_name
  scopes              = [var.web_app_id]
  description         = "The backend answered more than ${var.http_5xx_threshold} requests with 5xx in 5 minutes."
  severity            = 2
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "Http5xx"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = var.http_5xx_threshold
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

resource "azurerm_monitor_metric_alert" "backend_health_check" {
  name                = "alert-${var.name_prefix}-backend-health"
  resource_group_name = var.resource_group_name
  scopes              = [var.web_app_id]
  description         = "App Service health check (GET /health) is failing on at least one instance."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "HealthCheckStatus"
    aggregation      = "Average"
    operator         = "LessThan"
    threshold        = 100
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

resource "azurerm_monitor_metric_alert" "vpn_tunnel_silent" {
  name                = "alert-${var.name_prefix}-vpn-tunnel-silent"
  resource_group_name = var.resource_group_name
  scopes              = [var.vpn_gateway_id]
  description         = "No bytes arrived through the tunnel of ${var.vpn_connection_name} for 15 minutes: the edge's probes and outbox replay cross it every minute, so silence means the tunnel is down."
  severity            = 1
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Network/virtualNetworkGateways"
    metric_name      = "TunnelIngressBytes"
    aggregation      = "Total"
    operator         = "LessThanOrEqual"
    threshold        = 0

    dimension {
      name     = "ConnectionName"
      operator = "Include"
      values   = [var.vpn_connection_name]
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

# The metric above cannot fire when the gateway emits no data point at all;
# resource health reports the connection itself as unavailable.
resource "azurerm_monitor_activity_log_alert" "vpn_connection_health" {
  name                = "alert-${var.name_prefix}-vpn-connection-health"
  resource_group_name = var.resource_group_name
  location            = "global"
  scopes              = [var.resource_group_id]
  description         = "Azure resource health reports the site-to-site connection as unavailable or degraded."
  tags                = var.tags

  criteria {
    category    = "ResourceHealth"
    resource_id = var.vpn_connection_id

    resource_health {
      current  = ["Unavailable", "Degraded"]
      previous = ["Available"]
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

resource "azurerm_monitor_metric_alert" "key_vault_availability" {
  name                = "alert-${var.name_prefix}-key-vault-availability"
  resource_group_name = var.resource_group_name
  scopes              = [var.key_vault_id]
  description         = "Key Vault availability fell below 100%: the backend's Key Vault references and the VPN's shared key depend on it."
  severity            = 2
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.KeyVault/vaults"
    metric_name      = "Availability"
    aggregation      = "Average"
    operator         = "LessThan"
    threshold        = 100
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}
