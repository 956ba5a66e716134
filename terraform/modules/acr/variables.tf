variable "name" {
  description = "Globally unique registry name (5-50 alphanumerics)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.name))
    error_message = "name must be 5-50 letters and digits (ACR's rule)."
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
  description = "Registry SKU. Basic is enough for a handful of images; Premium adds zone redundancy, private endpoints and retention policies."
  type        = string
  default     = "Basic"

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.sku)
    error_message = "sku must be Basic, Standard or Premium."
  }
}

variable "pull_principal_ids" {
  description = "Managed identities granted AcrPull, keyed by a stable label, e.g. { backend = <web app principal id> }."
  type        = map(string)
  default     = {}
}

variable "push_principal_ids" {
  description = "Principals granted AcrPush (CI), keyed by a stable label."
  type        = map(string)
  default     = {}
}
