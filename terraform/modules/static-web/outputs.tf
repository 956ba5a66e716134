output "id" {
  description = "ID of the static web app."
  value       = azurerm_static_web_app.this.id
}

output "default_host_name" {
  description = "Hostname the dashboard is served at."
  value       = azurerm_static_web_app.this.default_host_name
}

output "url" {
  description = "HTTPS origin of the dashboard (for SignalR CORS)."
  value       = "https://${azurerm_static_web_app.this.default_host_name}"
}

output "api_key" {
  description = "Deployment token for CI (sensitive)."
  value       = azurerm_static_web_app.this.api_key
  sensitive   = true
}
