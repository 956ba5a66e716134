output "log_analytics_workspace_id" {
  description = "ID of the Log Analytics workspace (target of every diagnostic setting)."
  value       = azurerm_log_analytics_workspace.this.id
}

output "application_insights_connection_string" {
  description = "Application Insights connection string for the backend (sensitive)."
  value       = azurerm_application_insights.this.connection_string
  sensitive   = true
}

output "action_group_id" {
  description = "ID of the email action group."
  value       = azurerm_monitor_action_group.this.id
}

output "alert_ids" {
  description = "IDs of the Azure-side alert rules, by purpose."
  value = {
    backend_5xx            = azurerm_monitor_metric_alert.backend_5xx.id
    backend_health_check   = azurerm_monitor_metric_alert.backend_health_check.id
    vpn_tunnel_silent      = azurerm_monitor_metric_alert.vpn_tunnel_silent.id
    vpn_connection_health  = azurerm_monitor_activity_log_alert.vpn_connection_health.id
    key_vault_availability = azurerm_monitor_metric_alert.key_vault_availability.id
  }
}

output "log_analytics_workspace_customer_id" {
  description = "Workspace (customer) ID, the GUID agents such as Container Instances send to."
  value       = azurerm_log_analytics_workspace.this.workspace_id
}

output "log_analytics_primary_shared_key" {
  description = "Primary shared key of the workspace (sensitive)."
  value       = azurerm_log_analytics_workspace.this.primary_shared_key
  sensitive   = true
}
