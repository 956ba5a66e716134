output "id" {
  description = "ID of the registry."
  value       = azurerm_container_registry.this.id
}

output "name" {
  description = "Name of the registry."
  value       = azurerm_container_registry.this.name
}

output "login_server" {
  description = "Login server, e.g. acrspyopsdev.azurecr.io (the image prefix)."
  value       = azurerm_container_registry.this.login_server
}
