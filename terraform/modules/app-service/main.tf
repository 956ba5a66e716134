# The backend: a Linux web app running the backend container, pulled from
# ACR with the app's managed identity, with VNet integration (all outbound
# through the VNet, so Key Vault and Storage admit it by subnet), a health
# check on /health, and secrets as Key Vault references resolved by the same
# identity.

locals {
  web_app_name = "app-${var.name_prefix}"

  key_vault_references = {
    for setting, uri in var.key_vault_secret_settings : setting => "@Microsoft.KeyVault(SecretUri=${uri})"
  }
}

resource "azurerm_service_plan" "this" {
  name                   = "asp-${var.name_prefix}"
  location               = var.location
  resource_group_name    = var.resource_group_name
  os_type                = "Linux"
  sku_name               = var.sku_name
  worker_count           = var.worker_count
  zone_balancing_enabled = var.zone_balancing_enabled
  tags                   = var.tags

  lifecycle {
    precondition {
      condition     = !var.zone_balancing_enabled || (startswith(var.sku_name, "P") && var.worker_count >= 2)
      error_message = "zone_balancing_enabled needs a Premium v3 SKU and worker_count >= 2."
    }
  }

  #checkov:skip=CKV_AZURE_211:The SKU is chosen per environment: B1 in dev for cost, Premium v3 in prod (envs/prod/terraform.tfvars).
  #checkov:skip=CKV_AZURE_212:worker_count is per environment: 1 in dev, 2 in prod.
  #checkov:skip=CKV_AZURE_225:Zone balancing is per environment (on in prod); dev runs one instance.
}

resource "azurerm_linux_web_app" "this" {
  name                                           = local.web_app_name
  location                                       = var.location
  resource_group_name                            = var.resource_group_name
  service_plan_id                                = azurerm_service_plan.this.id
  https_only                                     = true
  public_network_access_enabled                  = true
  virtual_network_subnet_id                      = var.integration_subnet_id
  vnet_image_pull_enabled                        = true
  client_certificate_enabled                     = false
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    always_on                               = true
    health_check_path                       = var.health_check_path
    health_check_eviction_time_in_min       = 5
    http2_enabled                           = true
    minimum_tls_version                     = "1.2"
    scm_minimum_tls_version                 = "1.2"
    ftps_state                              = "Disabled"
    vnet_route_all_enabled                  = true
    container_registry_use_managed_identity = true
    # The dashboard's live stream (/v1/stream) is a WebSocket; App Service refuses the upgrade
    # unless this is on.
    websockets_enabled            = true
    ip_restriction_default_action = length(var.allowed_client_cidrs) > 0 ? "Deny" : "Allow"

    application_stack {
      docker_image_name   = var.image
      docker_registry_url = "https://${var.container_registry_login_server}"
    }

    dynamic "ip_restriction" {
      for_each = var.allowed_client_cidrs
      content {
        name       = "allow-${replace(replace(ip_restriction.value, ".", "-"), "/", "-")}"
        ip_address = ip_restriction.value
        action     = "Allow"
        priority   = 100 + ip_restriction.key
      }
    }
  }

  app_settings = merge(
    var.app_settings,
    local.key_vault_references,
    {
      WEBSITES_PORT                       = tostring(var.port)
      WEBSITES_ENABLE_APP_SERVICE_STORAGE = "false"
    },
  )

  logs {
    detailed_error_messages = true
    failed_request_tracing  = true

    http_logs {
      file_system {
        retention_in_days = 7
        retention_in_mb   = 35
      }
    }
  }

  #checkov:skip=CKV_AZURE_13:The backend authenticates its callers itself (signed tokens from the edge); App Service Easy Auth would put an interactive login in front of a machine API.
  #checkov:skip=CKV_AZURE_17:Client certificates are not used; the edge authenticates with bearer tokens over TLS 1.2.
  #checkov:skip=CKV_AZURE_88:The backend is stateless (history lives in Table Storage); it mounts no Azure Files share.
  #checkov:skip=CKV_AZURE_222:Public access is restricted by access rules to the edge's and the trader's public IPs (allowed_client_cidrs); a private endpoint would need the app subnet's delegation removed and a DNS zone the edge resolves.
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  name                       = "app-to-log-analytics"
  target_resource_id         = azurerm_linux_web_app.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "AppServiceHTTPLogs"
  }

  enabled_log {
    category = "AppServiceConsoleLogs"
  }

  enabled_log {
    category = "AppServiceAppLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
