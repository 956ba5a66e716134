output "gateway_id" {
  description = "ID of the virtual network gateway."
  value       = azurerm_virtual_network_gateway.this.id
}

output "gateway_name" {
  description = "Name of the virtual network gateway (VpnLink spec.azure.gatewayName)."
  value       = azurerm_virtual_network_gateway.this.name
}

output "connection_id" {
  description = "ID of the site-to-site connection."
  value       = azurerm_virtual_network_gateway_connection.onprem.id
}

output "connection_name" {
  description = "Name of the site-to-site connection (VpnLink spec.azure.connectionName)."
  value       = azurerm_virtual_network_gateway_connection.onprem.name
}

output "gateway_public_ips" {
  description = "Public IPs of the gateway, for the edge's IPsec peer configuration (two when active-active)."
  value       = [for config in local.ip_configurations : azurerm_public_ip.gateway[config].ip_address]
}

output "ipsec_policy" {
  description = "The crypto policy the connection enforces, for the edge's proposal; null when Azure's default proposals are used (Basic)."
  value       = var.azure_default_ipsec_policy ? null : var.ipsec_policy
}
