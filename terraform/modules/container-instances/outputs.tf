output "enabled" {
  description = "Whether the container group exists."
  value       = var.enabled
}

output "private_ip_address" {
  description = "Private IP of the container group, or null when disabled."
  value       = var.enabled ? azurerm_container_group.this[0].ip_address : null
}

output "identity_principal_id" {
  description = "Object ID of the group's pull identity (grant it AcrPull), or null when disabled."
  value       = var.enabled ? azurerm_user_assigned_identity.this[0].principal_id : null
}
