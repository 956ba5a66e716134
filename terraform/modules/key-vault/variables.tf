variable "name" {
  description = "Globally unique Key Vault name (3-24 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-24 characters of letters, digits and single hyphens, starting with a letter (Key Vault's rule)."
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

variable "tenant_id" {
  description = "Entra ID tenant of the vault."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tenant_id))
    error_message = "tenant_id must be a lowercase GUID."
  }
}

variable "sku_name" {
  description = "Key Vault SKU: standard (software keys) or premium (HSM-backed keys)."
  type        = string
  default     = "standard"

  validation {
    condition     = contains(["standard", "premium"], var.sku_name)
    error_message = "sku_name must be standard or premium."
  }
}

variable "soft_delete_retention_days" {
  description = "Days a deleted vault or secret stays recoverable."
  type        = number
  default     = 90

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be 7-90."
  }
}

variable "allowed_subnet_ids" {
  description = "Subnets admitted by the vault firewall (the backend's integration subnet)."
  type        = list(string)
  default     = []
}

variable "allowed_ip_cidrs" {
  description = "Public IPs/CIDRs admitted by the vault firewall (the machine running tofu, the operator's workstation)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_ip_cidrs : can(cidrnetmask(cidr)) || can(cidrhost("${cidr}/32", 0))])
    error_message = "allowed_ip_cidrs must hold IPv4 addresses or CIDR blocks."
  }
}

variable "administrator_principal_ids" {
  description = "Principals granted Key Vault Secrets Officer (read and write secrets), keyed by a stable label. The principal running tofu is added automatically."
  type        = map(string)
  default     = {}
}

variable "secret_reader_principal_ids" {
  description = "Principals granted Key Vault Secrets User (read secrets), keyed by a stable label, e.g. { backend = <web app identity> }."
  type        = map(string)
  default     = {}
}

variable "secret_names" {
  description = "Names of the secrets this module writes; their values come from secret_values. Kept apart because for_each cannot iterate sensitive values."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.secret_names : can(regex("^[0-9A-Za-z-]{1,127}$", name))])
    error_message = "secret_names must be 1-127 characters of letters, digits and hyphens."
  }
}

variable "generated_secret_names" {
  description = "Names of secrets this module generates once (64 random hex digits) and keeps, e.g. the backend's write token."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.generated_secret_names : can(regex("^[0-9A-Za-z-]{1,127}$", name))])
    error_message = "generated_secret_names must be 1-127 characters of letters, digits and hyphens."
  }
}

variable "secret_values" {
  description = "Values of the secrets named in secret_names (connection strings and keys produced by other modules)."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "log_analytics_workspace_id" {
  description = "Workspace that receives the vault's audit log."
  type        = string
}
