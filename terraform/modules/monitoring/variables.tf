variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"spyops-dev\"."
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

variable "resource_group_id" {
  description = "ID of the resource group (scope of the resource-health alert)."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "retention_in_days" {
  description = "Log Analytics retention; 30 days are included in the ingestion price."
  type        = number
  default     = 30

  validation {
    condition     = var.retention_in_days >= 30 && var.retention_in_days <= 730
    error_message = "retention_in_days must be 30-730."
  }
}

variable "daily_quota_gb" {
  description = "Daily ingestion cap of the workspace in GB (-1 for none); the cost guard of a small deployment."
  type        = number
  default     = 1

  validation {
    condition     = var.daily_quota_gb == -1 || var.daily_quota_gb >= 0.023
    error_message = "daily_quota_gb must be -1 (no cap) or at least 0.023."
  }
}

variable "alert_emails" {
  description = "Addresses the action group emails, keyed by a short receiver name."
  type        = map(string)

  validation {
    condition     = length(var.alert_emails) > 0 && alltrue([for address in values(var.alert_emails) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alert_emails must map at least one receiver name to a valid email address."
  }
}

variable "web_app_id" {
  description = "ID of the backend web app (5xx and health-check alerts)."
  type        = string
}

variable "http_5xx_threshold" {
  description = "Backend 5xx responses in 5 minutes that raise an alert."
  type        = number
  default     = 5

  validation {
    condition     = var.http_5xx_threshold >= 1
    error_message = "http_5xx_threshold must be at least 1."
  }
}

variable "vpn_gateway_id" {
  description = "ID of the VPN gateway (tunnel traffic alert)."
  type        = string
}

variable "vpn_connection_id" {
  description = "ID of the site-to-site connection (resource-health alert)."
  type        = string
}

variable "vpn_connection_name" {
  description = "Name of the site-to-site connection (dimension of the tunnel metrics)."
  type        = string
}

variable "key_vault_id" {
  description = "ID of the Key Vault (availability alert)."
  type        = string
}
