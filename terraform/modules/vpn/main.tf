# Site-to-site VPN to the edge: a route-based gateway in GatewaySubnet, a
# local network gateway that describes the edge (its public IP and the
# on-premises prefix), and one IKEv2 connection with an explicit crypto policy.

locals {
  ip_configurations = var.active_active ? ["primary", "secondary"] : ["primary"]
  basic             = var.gateway_sku == "Basic"
}

resource "azurerm_public_ip" "gateway" {
  for_each = toset(local.ip_configurations)

  name                = "pip-${var.name_prefix}-vpngw-${each.key}"
  location            = var.location
  resource_group_name = var.resource_group_name
  allocation_method   = "Static"
  sku                 = "Standard"
  # The Basic gateway is not zone-redundant: its IP is not zonal either.
  zones = local.basic ? null : var.zones
  tags  = var.tags
}

resource "azurerm_virtual_network_gateway" "this" {
  name                = "vpngw-${var.name_prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  type                = "Vpn"
  vpn_type            = "RouteBased"
  sku                 = var.gateway_sku
  generation          = var.gateway_generation
  active_active       = var.active_active
  bgp_enabled         = false
  tags                = var.tags

  lifecycle {
    precondition {
      # Basic has no custom IPsec/IKE policy, no active-active and exists only in Generation1.
      condition     = !local.basic || (var.azure_default_ipsec_policy && !var.active_active && var.gateway_generation == "Generation1")
      error_message = "gateway_sku Basic needs azure_default_ipsec_policy = true, active_active = false and gateway_generation Generation1."
    }
  }

  dynamic "ip_configuration" {
    for_each = local.ip_configurations
    content {
      name                          = "ipconfig-${ip_configuration.value}"
      public_ip_address_id          = azurerm_public_ip.gateway[ip_configuration.value].id
      private_ip_address_allocation = "Dynamic"
      subnet_id                     = var.gateway_subnet_id
    }
  }
}

resource "azurerm_local_network_gateway" "onprem" {
  name                = "lgw-${var.name_prefix}-onprem"
  location            = var.location
  resource_group_name = var.resource_group_name
  gateway_address     = var.onprem_public_ip
  address_space       = var.onprem_address_space
  tags                = var.tags
}

# The pre-shared key is created out of band (it must match the edge's), so
# tofu only reads it; see "Bootstrap" in terraform/README.md.
data "azurerm_key_vault_secret" "shared_key" {
  name         = var.shared_key_secret_name
  key_vault_id = var.key_vault_id
}

resource "azurerm_virtual_network_gateway_connection" "onprem" {
  name                       = "cn-${var.name_prefix}-onprem"
  location                   = var.location
  resource_group_name        = var.resource_group_name
  type                       = "IPsec"
  connection_protocol        = "IKEv2"
  virtual_network_gateway_id = azurerm_virtual_network_gateway.this.id
  local_network_gateway_id   = azurerm_local_network_gateway.onprem.id
  shared_key                 = data.azurerm_key_vault_secret.shared_key.value
  dpd_timeout_seconds        = var.dpd_timeout_seconds
  bgp_enabled                = false
  tags                       = var.tags

  # Without this block Azure uses its default proposals (the only choice on Basic).
  dynamic "ipsec_policy" {
    for_each = var.azure_default_ipsec_policy ? [] : [var.ipsec_policy]
    content {
      ike_encryption   = ipsec_policy.value.ike_encryption
      ike_integrity    = ipsec_policy.value.ike_integrity
      dh_group         = ipsec_policy.value.dh_group
      ipsec_encryption = ipsec_policy.value.ipsec_encryption
      ipsec_integrity  = ipsec_policy.value.ipsec_integrity
      pfs_group        = ipsec_policy.value.pfs_group
      sa_lifetime      = ipsec_policy.value.sa_lifetime
      sa_datasize      = ipsec_policy.value.sa_datasize
    }
  }
}

resource "azurerm_monitor_diagnostic_setting" "gateway" {
  name                       = "vpngw-to-log-analytics"
  target_resource_id         = azurerm_virtual_network_gateway.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "allLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
