# The seeds' network plan: one VNet, a GatewaySubnet for the VPN gateway, an
# app subnet for the backend's VNet integration and a container subnet, with
# NSGs that admit HTTPS from the on-premises network (through the tunnel) only.
#
# Azure does not support an NSG on GatewaySubnet; "VPN from the on-premises IP
# only" is enforced by the gateway itself, which negotiates IKE only with the
# local network gateway's address (the vpn module pins that to the edge's
# public IP).

locals {
  subnet_prefixes = {
    gateway    = var.gateway_subnet_prefix
    app        = var.app_subnet_prefix
    containers = var.container_subnet_prefix
  }
}

resource "azurerm_resource_group" "this" {
  name     = "rg-${var.name_prefix}"
  location = var.location
  tags     = var.tags
}

resource "azurerm_virtual_network" "this" {
  name                = "vnet-${var.name_prefix}"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  address_space       = var.address_space
  tags                = var.tags

  lifecycle {
    precondition {
      # A prefix lies inside a space when it is at least as long and its
      # address, masked to the space's length, is the space's network address.
      condition = alltrue([
        for prefix in values(local.subnet_prefixes) : anytrue([
          for space in var.address_space :
          tonumber(split("/", prefix)[1]) >= tonumber(split("/", space)[1]) &&
          cidrhost("${split("/", prefix)[0]}/${split("/", space)[1]}", 0) == cidrhost(space, 0)
        ])
      ])
      error_message = "every subnet prefix must lie inside the VNet's address_space."
    }
  }
}

resource "azurerm_subnet" "gateway" {
  # Azure requires exactly this name for the subnet of a virtual network gateway.
  name                 = "GatewaySubnet"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.gateway_subnet_prefix]
}

resource "azurerm_subnet" "app" {
  name                            = "snet-app"
  resource_group_name             = azurerm_resource_group.this.name
  virtual_network_name            = azurerm_virtual_network.this.name
  address_prefixes                = [var.app_subnet_prefix]
  default_outbound_access_enabled = false

  # Key Vault and Storage firewalls admit the backend by subnet.
  service_endpoint {
    service = "Microsoft.KeyVault"
  }

  service_endpoint {
    service = "Microsoft.Storage"
  }

  delegation {
    name = "app-service"

    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_subnet" "containers" {
  name                            = "snet-containers"
  resource_group_name             = azurerm_resource_group.this.name
  virtual_network_name            = azurerm_virtual_network.this.name
  address_prefixes                = [var.container_subnet_prefix]
  default_outbound_access_enabled = false

  service_endpoint {
    service = "Microsoft.KeyVault"
  }

  service_endpoint {
    service = "Microsoft.Storage"
  }

  delegation {
    name = "container-instances"

    service_delegation {
      name    = "Microsoft.ContainerInstance/containerGroups"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_network_security_group" "app" {
  name                = "nsg-${var.name_prefix}-app"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = var.tags

  # The edge reaches the app over HTTPS through the tunnel; nothing else does.
  security_rule {
    name                       = "allow-https-from-onprem"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = tostring(var.https_port)
    source_address_prefixes    = var.onprem_address_space
    destination_address_prefix = var.app_subnet_prefix
  }

  # Overrides Azure's default AllowVnetInBound / AllowAzureLoadBalancerInBound.
  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_network_security_group" "containers" {
  name                = "nsg-${var.name_prefix}-containers"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = var.tags

  # The edge (through the tunnel) and the backend reach the containers over HTTPS.
  security_rule {
    name                       = "allow-https-from-onprem"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = tostring(var.https_port)
    source_address_prefixes    = var.onprem_address_space
    destination_address_prefix = var.container_subnet_prefix
  }

  security_rule {
    name                       = "allow-https-from-app"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = tostring(var.https_port)
    source_address_prefixes    = [var.app_subnet_prefix]
    destination_address_prefix = var.container_subnet_prefix
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "app" {
  subnet_id                 = azurerm_subnet.app.id
  network_security_group_id = azurerm_network_security_group.app.id
}

resource "azurerm_subnet_network_security_group_association" "containers" {
  subnet_id                 = azurerm_subnet.containers.id
  network_security_group_id = azurerm_network_security_group.containers.id
}
