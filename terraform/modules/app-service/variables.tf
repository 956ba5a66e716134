variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"spyops-dev\"; the web app is app-<prefix>."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group to deploy into."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "sku_name" {
  description = "App Service plan SKU: B1 (dev: 1 core, 1.75 GB, no SLA on one instance) or P0v3/P1v3 (prod: zone balancing, more instances)."
  type        = string
  default     = "B1"

  validation {
    condition     = contains(["B1", "B2", "B3", "S1", "S2", "S3", "P0v3", "P1v3", "P2v3", "P3v3", "P1mv3", "P2mv3"], var.sku_name)
    error_message = "sku_name must be a Linux plan SKU with VNet integration: B1-B3, S1-S3, P0v3-P3v3, P1mv3, P2mv3."
  }
}

variable "worker_count" {
  description = "Instances of the plan; two or more let the health check take a failing instance out of rotation."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 30
    error_message = "worker_count must be 1-30."
  }
}

variable "zone_balancing_enabled" {
  description = "Spread the instances across availability zones (Premium v3 only, needs worker_count >= 2)."
  type        = bool
  default     = false
}

variable "integration_subnet_id" {
  description = "ID of the app subnet (delegated to Microsoft.Web/serverFarms) for VNet integration."
  type        = string
}

variable "container_registry_login_server" {
  description = "Login server of the registry the image is pulled from, e.g. acrspyopsdev.azurecr.io."
  type        = string
}

variable "image" {
  description = "Backend image name and tag inside the registry, e.g. spyops/backend:0.1.0."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image))
    error_message = "image must be <repository>:<tag> with a lowercase repository and an explicit tag (never an implicit latest)."
  }
}

variable "health_check_path" {
  description = "Path App Service probes; the backend's liveness endpoint."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
}

variable "port" {
  description = "Port the backend container listens on (WEBSITES_PORT)."
  type        = number
  default     = 8080

  validation {
    condition     = var.port > 0 && var.port < 65536
    error_message = "port must be a TCP port number (1-65535)."
  }
}

variable "app_settings" {
  description = "Plain (non-secret) settings of the backend."
  type        = map(string)
  default     = {}
}

variable "key_vault_secret_settings" {
  description = "Settings resolved by Key Vault references: setting name => versionless secret URI (https://<vault>.vault.azure.net/secrets/<name>)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for uri in values(var.key_vault_secret_settings) : can(regex("^https://[a-z0-9-]+\\.vault\\.[a-z0-9.]+/secrets/[0-9A-Za-z-]+/?$", uri))])
    error_message = "key_vault_secret_settings values must be versionless Key Vault secret URIs."
  }
}

variable "allowed_client_cidrs" {
  description = "Public CIDRs allowed to reach the backend over HTTPS (the edge's public IP, the trader's network); empty means open to all."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_client_cidrs : can(cidrnetmask(cidr))])
    error_message = "allowed_client_cidrs must hold IPv4 CIDR blocks, e.g. 203.0.113.10/32."
  }
}

variable "log_analytics_workspace_id" {
  description = "Workspace that receives the app's HTTP and console logs."
  type        = string
}
