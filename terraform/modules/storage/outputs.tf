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

output "table_prefix" {
  description = "Prefix of the backend's tables (the backend's SPYOPS_TABLE_PREFIX)."
  value       = var.table_prefix
}
