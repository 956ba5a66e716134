# The dashboard: a static single-page app. It is deployed by CI with the app's
# deployment token; its only setting is where the backend is.

resource "azurerm_static_web_app" "this" {
  name                               = var.name
  location                           = var.location
  resource_group_name                = var.resource_group_name
  sku_tier                           = var.sku
  sku_size                           = var.sku
  configuration_file_changes_enabled = true
  preview_environments_enabled       = false
  tags                               = var.tags

  app_settings = {
    SPYOPS_BACKEND_URL = var.backend_url
  }
}
