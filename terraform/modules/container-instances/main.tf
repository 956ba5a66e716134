# Optional: one container group with a private IP in the container subnet,
# pulling from ACR with a user-assigned identity (ACI cannot pull with a
# system-assigned one). Reachable only through the VNet and the tunnel.

resource "azurerm_user_assigned_identity" "this" {
  count = var.enabled ? 1 : 0

  name                = "id-${var.name_prefix}-aci"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

# Granted here, not by the acr module, so that the group is created only
# after its identity may pull.
resource "azurerm_role_assignment" "pull" {
  count = var.enabled ? 1 : 0

  scope                = var.container_registry_id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.this[0].principal_id
}

resource "azurerm_container_group" "this" {
  count = var.enabled ? 1 : 0

  depends_on = [azurerm_role_assignment.pull]

  name                = "aci-${var.name_prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  os_type             = "Linux"
  sku                 = "Standard"
  ip_address_type     = "Private"
  subnet_ids          = [var.subnet_id]
  restart_policy      = "Always"
  tags                = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this[0].id]
  }

  image_registry_credential {
    server                    = var.container_registry_login_server
    user_assigned_identity_id = azurerm_user_assigned_identity.this[0].id
  }

  container {
    name   = "main"
    image  = "${var.container_registry_login_server}/${var.image}"
    cpu    = var.cpu
    memory = var.memory_gb
    # Secure variables are not shown in the portal or the API's GET.
    secure_environment_variables = var.environment_variables

    ports {
      port     = var.port
      protocol = "TCP"
    }

    security {
      privilege_enabled = false
    }
  }

  diagnostics {
    log_analytics {
      workspace_id  = var.log_analytics_workspace_id
      workspace_key = var.log_analytics_workspace_key
    }
  }
}
