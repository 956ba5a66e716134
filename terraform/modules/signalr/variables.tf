variable "name" {
  description = "Globally unique SignalR service name."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,61}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 3-63 letters, digits and hyphens, starting with a letter."
  }
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

variable "sku" {
  description = "SignalR tier: Free_F1 (20 connections, 20k messages/day, no SLA) or Standard_S1 (1k connections and 1M messages/day per unit, 99.9% SLA)."
  type        = string
  default     = "Free_F1"

  validation {
    condition     = contains(["Free_F1", "Standard_S1", "Premium_P1", "Premium_P2"], var.sku)
    error_message = "sku must be Free_F1, Standard_S1, Premium_P1 or Premium_P2."
  }
}

variable "capacity" {
  description = "Units of the SKU (Free_F1 allows 1)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], var.capacity)
    error_message = "capacity must be 1-10 or a multiple of 10 up to 100."
  }
}

variable "allowed_origins" {
  description = "Origins the dashboard is served from (CORS for the browser's negotiate call)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_origins) > 0 && alltrue([for origin in var.allowed_origins : can(regex("^https://[^/]+$", origin))])
    error_message = "allowed_origins must be https origins without a path, e.g. https://example.azurestaticapps.net."
  }
}

variable "log_analytics_workspace_id" {
  description = "Workspace that receives the service's connectivity and messaging logs."
  type        = string
}
