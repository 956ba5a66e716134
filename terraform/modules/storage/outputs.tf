output "id" {
  description = "ID of the storage account."
  value       = azurerm_storage_account.this.id
}

output "name" {
  description = "Name of the storage account."
  value       = azurerm_storage_account.this.name
}

output "table_endpoint" {
  description = "Table service endpoint, e.g. https://stspyopsdev.table.core.windows.net/."
  value       = azurerm_storage_account.this.primary_table_endpoint
}

output "table_names" {
  description = "Names of the history tables."
  value       = sort([for table in azurerm_storage_table.history : table.name])
}

output "primary_connection_string" {
  description = "Connection string of the account (stored in Key Vault by the environment, never printed)."
  value       = azurerm_storage_account.this.primary_connection_string
  sensitive   = true
}
