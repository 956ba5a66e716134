# The registry for the backend image. The admin user is off: pulls use the
# consumers' managed identities (AcrPull), pushes a CI identity (AcrPush).

resource "azurerm_container_registry" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = var.sku
  admin_enabled       = false
  tags                = var.tags

  #checkov:skip=CKV_AZURE_139:Public network access is needed on Basic/Standard, which have no private endpoints; pulls and pushes are authenticated by Entra ID only (admin user off, anonymous pull off).
  #checkov:skip=CKV_AZURE_165:Geo-replication needs Premium (~$50/month per region); one region carries this workload, images are rebuilt by CI.
  #checkov:skip=CKV_AZURE_166:Quarantine and image scanning need Premium plus Defender for Containers; images are scanned in CI before push.
  #checkov:skip=CKV_AZURE_163:Vulnerability scanning is Defender for Containers, a subscription-level plan outside this module; CI scans the image before pushing.
  #checkov:skip=CKV_AZURE_164:Content trust (Notary v1) is being retired by Azure; signing with Notation is a CI concern.
  #checkov:skip=CKV_AZURE_167:Retention policies for untagged manifests need Premium; CI pushes tagged images only.
  #checkov:skip=CKV_AZURE_233:Zone redundancy needs Premium; a registry outage delays deployments, never the running backend.
  #checkov:skip=CKV_AZURE_237:Dedicated data endpoints need Premium and only matter with firewall rules, which Basic/Standard do not have.
}

resource "azurerm_role_assignment" "pull" {
  for_each = var.pull_principal_ids

  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = each.value
}

resource "azurerm_role_assignment" "push" {
  for_each = var.push_principal_ids

  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPush"
  principal_id         = each.value
}
