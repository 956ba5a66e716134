output "backend_url" {
  description = "HTTPS URL of the backend: the edge's outbox target and the dashboard's API."
  value       = module.app_service.url
}

output "dashboard_url" {
  description = "HTTPS URL of the dashboard."
  value       = module.static_web.url
}

output "vpn_link" {
  description = "The fields of the VpnLink CR's spec.azure, as the edge needs them."
  value = {
    subscriptionId = var.subscription_id
    resourceGroup  = module.networking.resource_group_name
    gatewayName    = module.vpn.gateway_name
    connectionName = module.vpn.connection_name
  }
}

output "vpn_gateway_public_ips" {
  description = "Azure-side IPsec peer addresses for the edge's strongSwan (two when active-active)."
  value       = module.vpn.gateway_public_ips
}

output "vpn_ipsec_policy" {
  description = "The crypto policy the connection enforces; the edge must propose the same."
  value       = module.vpn.ipsec_policy
}

output "vpn_address_spaces" {
  description = "Traffic selectors of the tunnel: the VNet's prefixes (azure) and the network behind the edge (onprem)."
  value = {
    azure  = module.networking.address_space
    onprem = module.networking.onprem_address_space
  }
}

output "vpn_edge_public_ip" {
  description = "The edge's public address: its IKE identity, as the local network gateway knows it."
  value       = var.onprem_public_ip
}

output "key_vault" {
  description = "The Key Vault and the names of the secrets kept in it (never the values)."
  value = {
    name         = module.key_vault.name
    uri          = module.key_vault.vault_uri
    secret_names = local.key_vault_secret_names
  }
}

output "container_registry_login_server" {
  description = "Registry the backend image is pushed to."
  value       = module.acr.login_server
}

output "history" {
  description = "Table Storage endpoint, table prefix and table names of the backend's history."
  value = {
    table_endpoint = module.storage.table_endpoint
    table_prefix   = module.storage.table_prefix
    tables         = module.storage.table_names
  }
}

output "signalr_hostname" {
  description = "Hostname of the SignalR service."
  value       = module.signalr.hostname
}
