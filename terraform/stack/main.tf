# The Azure side, composed from the modules: the one root module every
# environment applies. An environment is only values and a state location
# (envs/<env>/terraform.tfvars and backend.hcl; see terraform/README.md).

locals {
  name_prefix = "spyops-${var.environment}"
  # Globally unique names have no hyphens where Azure forbids them.
  compact_name = "spyops${var.environment}${var.global_name_suffix}"

  tags = {
    project     = "spyops"
    environment = var.environment
    managed-by  = "opentofu"
  }

  # Where the backend's secrets live in Key Vault: the backend reads them via
  # Key Vault references; operators read them with `az keyvault secret show`.
  key_vault_secret_names = {
    signalr_connection_string     = "signalr-connection-string"
    appinsights_connection_string = "appinsights-connection-string"
    backend_write_token           = "backend-write-token"
    vpn_shared_key                = var.vpn_shared_key_secret_name
  }

  # The backend's tables are <prefix><role>; the storage module creates exactly those.
  table_prefix = "spyops"

  # Known before the web app exists, which breaks the cycle
  # dashboard -> backend URL -> web app -> Key Vault -> SignalR -> dashboard origin.
  backend_url = "https://app-${local.name_prefix}.azurewebsites.net"
}

module "networking" {
  source = "../modules/networking"

  name_prefix          = local.name_prefix
  location             = var.location
  onprem_address_space = var.onprem_address_space
  tags                 = local.tags
}

module "monitoring" {
  source = "../modules/monitoring"

  name_prefix         = local.name_prefix
  location            = module.networking.location
  resource_group_name = module.networking.resource_group_name
  resource_group_id   = module.networking.resource_group_id
  retention_in_days   = var.log_retention_days
  daily_quota_gb      = var.log_daily_quota_gb
  alert_emails        = var.alert_emails
  web_app_id          = module.app_service.id
  vpn_gateway_id      = module.vpn.gateway_id
  vpn_connection_id   = module.vpn.connection_id
  vpn_connection_name = module.vpn.connection_name
  key_vault_id        = module.key_vault.id
  tags                = local.tags
}

module "key_vault" {
  source = "../modules/key-vault"

  name                       = "kv-spyops-${var.environment}-${var.global_name_suffix}"
  location                   = module.networking.location
  resource_group_name        = module.networking.resource_group_name
  tenant_id                  = var.tenant_id
  allowed_subnet_ids         = [module.networking.app_subnet_id, module.networking.container_subnet_id]
  allowed_ip_cidrs           = var.admin_ip_cidrs
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags

  secret_reader_principal_ids = {
    backend = module.app_service.principal_id
  }

  secret_names = toset([
    local.key_vault_secret_names.signalr_connection_string,
    local.key_vault_secret_names.appinsights_connection_string,
  ])
  secret_values = {
    (local.key_vault_secret_names.signalr_connection_string)     = module.signalr.primary_connection_string
    (local.key_vault_secret_names.appinsights_connection_string) = module.monitoring.application_insights_connection_string
  }

  # The edge's write token: generated once, read by the backend through a Key Vault reference
  # and by the operator with `az keyvault secret show` for the edge's Secret.
  generated_secret_names = toset([local.key_vault_secret_names.backend_write_token])
}

module "vpn" {
  source = "../modules/vpn"

  name_prefix                = local.name_prefix
  location                   = module.networking.location
  resource_group_name        = module.networking.resource_group_name
  gateway_subnet_id          = module.networking.gateway_subnet_id
  gateway_sku                = var.vpn_gateway_sku
  azure_default_ipsec_policy = var.vpn_azure_default_ipsec_policy
  active_active              = var.vpn_active_active
  onprem_public_ip           = var.onprem_public_ip
  onprem_address_space       = module.networking.onprem_address_space
  key_vault_id               = module.key_vault.id
  shared_key_secret_name     = local.key_vault_secret_names.vpn_shared_key
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "acr" {
  source = "../modules/acr"

  name                = "acr${local.compact_name}"
  location            = module.networking.location
  resource_group_name = module.networking.resource_group_name
  sku                 = var.acr_sku
  tags                = local.tags

  pull_principal_ids = {
    backend = module.app_service.principal_id
  }
}

module "storage" {
  source = "../modules/storage"

  name                       = "st${local.compact_name}"
  location                   = module.networking.location
  resource_group_name        = module.networking.resource_group_name
  replication_type           = var.storage_replication_type
  allowed_subnet_ids         = [module.networking.app_subnet_id, module.networking.container_subnet_id]
  allowed_ip_cidrs           = var.admin_ip_cidrs
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  table_prefix               = local.table_prefix
  tags                       = local.tags

  table_data_contributor_principal_ids = {
    backend = module.app_service.principal_id
  }
}

module "signalr" {
  source = "../modules/signalr"

  name                       = "sigr-spyops-${var.environment}-${var.global_name_suffix}"
  location                   = module.networking.location
  resource_group_name        = module.networking.resource_group_name
  sku                        = var.signalr_sku
  capacity                   = var.signalr_capacity
  allowed_origins            = [module.static_web.url]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "static_web" {
  source = "../modules/static-web"

  name                = "stapp-${local.name_prefix}"
  location            = var.static_web_location
  resource_group_name = module.networking.resource_group_name
  sku                 = var.static_web_sku
  backend_url         = local.backend_url
  tags                = local.tags
}

module "app_service" {
  source = "../modules/app-service"

  name_prefix                     = local.name_prefix
  location                        = module.networking.location
  resource_group_name             = module.networking.resource_group_name
  sku_name                        = var.app_service_sku
  worker_count                    = var.app_service_worker_count
  zone_balancing_enabled          = var.app_service_zone_balancing
  integration_subnet_id           = module.networking.app_subnet_id
  container_registry_login_server = module.acr.login_server
  image                           = var.backend_image
  allowed_client_cidrs            = concat(["${var.onprem_public_ip}/32"], var.backend_client_cidrs)
  log_analytics_workspace_id      = module.monitoring.log_analytics_workspace_id
  tags                            = local.tags

  # The backend's whole configuration (workloads/backend/README.md): the image's default command
  # reads these. History in Table Storage with the app's managed identity (no key anywhere), the
  # dashboard's origin for CORS, and the secrets as Key Vault references.
  app_settings = {
    SPYOPS_STORE        = "table:${trimsuffix(module.storage.table_endpoint, "/")}"
    SPYOPS_TABLE_PREFIX = module.storage.table_prefix
    SPYOPS_CORS_ORIGINS = module.static_web.url

    # Traces to Application Insights, with the connection string below (README, "Tracing").
    OTEL_TRACES_EXPORTER = "azure_monitor"
    OTEL_SERVICE_NAME    = "spyops-backend"
  }

  key_vault_secret_settings = {
    SPYOPS_BACKEND_TOKEN                  = module.key_vault.secret_versionless_ids[local.key_vault_secret_names.backend_write_token]
    SPYOPS_SIGNALR_CONNECTION_STRING      = module.key_vault.secret_versionless_ids[local.key_vault_secret_names.signalr_connection_string]
    APPLICATIONINSIGHTS_CONNECTION_STRING = module.key_vault.secret_versionless_ids[local.key_vault_secret_names.appinsights_connection_string]
  }
}

module "container_instances" {
  source = "../modules/container-instances"

  enabled                         = var.container_instances_enabled
  name_prefix                     = local.name_prefix
  location                        = module.networking.location
  resource_group_name             = module.networking.resource_group_name
  subnet_id                       = module.networking.container_subnet_id
  container_registry_id           = module.acr.id
  container_registry_login_server = module.acr.login_server
  image                           = var.container_instances_image
  log_analytics_workspace_id      = module.monitoring.log_analytics_workspace_customer_id
  log_analytics_workspace_key     = module.monitoring.log_analytics_primary_shared_key
  tags                            = local.tags
}
