variable "subscription_id" {
  description = "Azure subscription to deploy into (VpnLink spec.azure.subscriptionId)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a lowercase GUID."
  }
}

variable "tenant_id" {
  description = "Entra ID tenant of the subscription."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tenant_id))
    error_message = "tenant_id must be a lowercase GUID."
  }
}

variable "environment" {
  description = "Environment name, part of every resource name."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "location" {
  description = "Azure region of everything but the static web app."
  type        = string
}

variable "static_web_location" {
  description = "Region of the static web app's control plane (a Static Web Apps region)."
  type        = string
  default     = "westeurope"
}

variable "global_name_suffix" {
  description = "Short suffix that makes the globally unique names (Key Vault, storage, ACR, SignalR) unique."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{2,6}$", var.global_name_suffix))
    error_message = "global_name_suffix must be 2-6 lowercase letters and digits."
  }
}

variable "onprem_public_ip" {
  description = "The edge's public IPv4 address: the VPN peer, and allowed to reach the backend."
  type        = string
}

variable "onprem_address_space" {
  description = "The on-premises network behind the edge (the seeds' plan: 192.168.1.0/24)."
  type        = list(string)
  default     = ["192.168.1.0/24"]
}

variable "admin_ip_cidrs" {
  description = "Public IPs/CIDRs of the operators and CI, admitted by the Key Vault and storage firewalls."
  type        = list(string)
  default     = []
}

variable "backend_client_cidrs" {
  description = "Extra public CIDRs allowed to reach the backend besides the edge (e.g. the trader's office)."
  type        = list(string)
  default     = []
}

variable "alert_emails" {
  description = "Alert recipients, keyed by a short receiver name."
  type        = map(string)
}

variable "backend_image" {
  description = "Backend image in the registry, <repository>:<tag>."
  type        = string
}

variable "vpn_shared_key_secret_name" {
  description = "Key Vault secret that holds the IPsec pre-shared key (set before the first full apply)."
  type        = string
  default     = "vpn-shared-key"
}

variable "app_service_sku" {
  description = "App Service plan SKU."
  type        = string
}

variable "app_service_worker_count" {
  description = "App Service instances."
  type        = number
}

variable "app_service_zone_balancing" {
  description = "Spread App Service instances across zones."
  type        = bool
}

variable "vpn_gateway_sku" {
  description = "VPN gateway SKU (Basic only in the dev budget profile)."
  type        = string

  validation {
    condition     = var.environment == "dev" || var.vpn_gateway_sku != "Basic"
    error_message = "The Basic VPN gateway (the budget profile, weaker crypto) is refused outside dev."
  }
}

variable "vpn_azure_default_ipsec_policy" {
  description = "Azure's default IPsec/IKE proposals instead of the seeds' policy: only for the dev budget profile's Basic gateway (budget.tfvars); weaker crypto, see terraform/README.md."
  type        = bool
  default     = false

  validation {
    condition     = var.environment == "dev" || !var.vpn_azure_default_ipsec_policy
    error_message = "Azure's default IPsec proposals (the budget profile, weaker crypto) are refused outside dev."
  }
}

variable "vpn_active_active" {
  description = "Active-active VPN gateway (two tunnels)."
  type        = bool
}

variable "signalr_sku" {
  description = "SignalR SKU."
  type        = string
}

variable "signalr_capacity" {
  description = "SignalR units."
  type        = number
}

variable "static_web_sku" {
  description = "Static Web App SKU (Free or Standard)."
  type        = string
}

variable "storage_replication_type" {
  description = "Storage replication (LRS, ZRS, ...)."
  type        = string
}

variable "acr_sku" {
  description = "Container registry SKU."
  type        = string
}

variable "log_retention_days" {
  description = "Log Analytics retention in days."
  type        = number
}

variable "log_daily_quota_gb" {
  description = "Log Analytics daily ingestion cap in GB (-1 for none)."
  type        = number
}

variable "container_instances_enabled" {
  description = "Create the optional container group in the container subnet."
  type        = bool
  default     = false
}

variable "container_instances_image" {
  description = "Image of the optional container group, <repository>:<tag>."
  type        = string
  default     = "spyops/backend:0.1.0"
}
