output "resource_group_name" {
  description = "Name of the resource group every other module deploys into."
  value       = azurerm_resource_group.this.name
}

output "resource_group_id" {
  description = "ID of the resource group."
  value       = azurerm_resource_group.this.id
}

output "location" {
  description = "Azure region of the resource group."
  value       = azurerm_resource_group.this.location
}

output "virtual_network_id" {
  description = "ID of the VNet."
  value       = azurerm_virtual_network.this.id
}

output "virtual_network_name" {
  description = "Name of the VNet."
  value       = azurerm_virtual_network.this.name
}

output "gateway_subnet_id" {
  description = "ID of GatewaySubnet, for the VPN gateway."
  value       = azurerm_subnet.gateway.id
}

output "app_subnet_id" {
  description = "ID of the app subnet, for the backend's VNet integration."
  value       = azurerm_subnet.app.id
}

output "container_subnet_id" {
  description = "ID of the container subnet, for Azure Container Instances."
  value       = azurerm_subnet.containers.id
}

output "address_space" {
  description = "Address space of the VNet, for the edge's remote traffic selectors."
  value       = azurerm_virtual_network.this.address_space
}

output "onprem_address_space" {
  description = "The on-premises address space the NSGs admit, for the vpn module's local network gateway."
  value       = var.onprem_address_space
}
