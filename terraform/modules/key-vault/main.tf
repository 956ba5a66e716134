# The Key Vault holds the VPN pre-shared key, the backend's write token (generated
# here) and the connection strings the backend reads through Key Vault references. Access is RBAC only (no access
# policies), soft delete and purge protection are on, and the firewall admits
# the backend's subnet and the named administrator IPs only.

data "azurerm_client_config" "current" {}

resource "azurerm_key_vault" "this" {
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = var.sku_name
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.soft_delete_retention_days
  public_network_access_enabled = true
  tags                          = var.tags

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = var.allowed_ip_cidrs
    virtual_network_subnet_ids = var.allowed_subnet_ids
  }

  #checkov:skip=CKV_AZURE_189:Public access stays on behind a default-deny firewall: the edge and CI reach the vault by IP; a private endpoint adds a private DNS zone and ~$7/month per environment the seeds do not budget.
  #checkov:skip=CKV2_AZURE_32:Same reason as CKV_AZURE_189: no private endpoint, the firewall (default Deny, named subnets and IPs) is the network boundary.
}

locals {
  administrators = merge(var.administrator_principal_ids, { deployer = data.azurerm_client_config.current.object_id })
}

resource "azurerm_role_assignment" "secrets_officer" {
  for_each = local.administrators

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = each.value
}

resource "azurerm_role_assignment" "secrets_user" {
  for_each = var.secret_reader_principal_ids

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
}

resource "azurerm_key_vault_secret" "this" {
  for_each = var.secret_names

  name         = each.key
  value        = var.secret_values[each.key]
  key_vault_id = azurerm_key_vault.this.id
  content_type = "text/plain; connection-string"

  # Writing needs the deployer's Secrets Officer role to exist first.
  depends_on = [azurerm_role_assignment.secrets_officer]

  #checkov:skip=CKV_AZURE_41:These secrets mirror live connection strings that tofu rewrites on every apply; an expiry date would make the backend's Key Vault references fail without the source key having changed. Rotation is done by regenerating the service key and re-applying.
}

# Secrets generated on the first apply and kept afterwards (the backend's write token): two
# uuid() values (crypto/rand, 122 random bits each) as 64 hex digits, so no extra provider is
# needed. ignore_changes keeps the value: uuid() differs on every plan. Rotate with
# `tofu apply -replace='module.key_vault.azurerm_key_vault_secret.generated["<name>"]'`.
resource "azurerm_key_vault_secret" "generated" {
  for_each = var.generated_secret_names

  name         = each.key
  value        = "${replace(uuid(), "-", "")}${replace(uuid(), "-", "")}"
  key_vault_id = azurerm_key_vault.this.id
  content_type = "text/plain; generated token"

  depends_on = [azurerm_role_assignment.secrets_officer]

  lifecycle {
    ignore_changes = [value]
  }

  #checkov:skip=CKV_AZURE_41:The token has no natural expiry: an expiry date would make the backend's Key Vault reference fail and lock the edge out; it is rotated by replacing this resource (see the comment above) and updating the edge's Secret.
}

resource "azurerm_monitor_diagnostic_setting" "audit" {
  name                       = "audit-to-log-analytics"
  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "audit"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
