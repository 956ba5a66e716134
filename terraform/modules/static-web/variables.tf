variable "name" {
  description = "Name of the static web app that serves the dashboard."
  type        = string
}

variable "location" {
  description = "Region of the app's control plane; Static Web Apps exist in a few regions only (content is served globally)."
  type        = string
  default     = "westeurope"

  validation {
    condition     = contains(["westus2", "centralus", "eastus2", "westeurope", "eastasia"], var.location)
    error_message = "location must be one of westus2, centralus, eastus2, westeurope, eastasia (the regions Static Web Apps are offered in)."
  }
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
  description = "Free (no SLA, fine for dev) or Standard (99.95% SLA, custom auth, private endpoints)."
  type        = string
  default     = "Free"

  validation {
    condition     = contains(["Free", "Standard"], var.sku)
    error_message = "sku must be Free or Standard."
  }
}

variable "backend_url" {
  description = "URL of the backend API the dashboard calls (handed to the build as an app setting)."
  type        = string

  validation {
    condition     = startswith(var.backend_url, "https://")
    error_message = "backend_url must be an https URL."
  }
}
