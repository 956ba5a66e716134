output "id" {
  description = "ID of the SignalR service."
  value       = azurerm_signalr_service.this.id
}

output "hostname" {
  description = "Hostname of the service, e.g. sigr-spyops-dev.service.signalr.net."
  value       = azurerm_signalr_service.this.hostname
}

output "primary_connection_string" {
  description = "Connection string (Endpoint=...;AccessKey=...;Version=1.0;), stored in Key Vault by the environment, never printed."
  value       = azurerm_signalr_service.this.primary_connection_string
  sensitive   = true
}
