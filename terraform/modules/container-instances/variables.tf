variable "enabled" {
  description = "Create the container group. Off by default: the backend runs on App Service; this is for an auxiliary container (e.g. a replay or probe target) inside the VNet."
  type        = bool
  default     = false
}

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

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "subnet_id" {
  description = "ID of the container subnet (delegated to Microsoft.ContainerInstance/containerGroups)."
  type        = string
}

variable "container_registry_id" {
  description = "ID of the registry (scope of the identity's AcrPull role)."
  type        = string
}

variable "container_registry_login_server" {
  description = "Login server of the registry the image is pulled from."
  type        = string
}

variable "image" {
  description = "Image name and tag inside the registry, e.g. spyops/backend:0.1.0."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image))
    error_message = "image must be <repository>:<tag> with an explicit tag."
  }
}

variable "cpu" {
  description = "vCPUs of the container."
  type        = number
  default     = 0.5

  validation {
    condition     = var.cpu > 0 && var.cpu <= 4
    error_message = "cpu must be in (0, 4]."
  }
}

variable "memory_gb" {
  description = "Memory of the container in GB."
  type        = number
  default     = 1

  validation {
    condition     = var.memory_gb >= 0.5 && var.memory_gb <= 16
    error_message = "memory_gb must be 0.5-16."
  }
}

variable "port" {
  description = "Port the container listens on (private IP only)."
  type        = number
  default     = 443

  validation {
    condition     = var.port > 0 && var.port < 65536
    error_message = "port must be a TCP port number (1-65535)."
  }
}

variable "environment_variables" {
  description = "Environment variables of the container (passed as secure variables, hidden from the portal and API reads)."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "log_analytics_workspace_id" {
  description = "Workspace ID (the GUID, not the resource ID) that receives the container logs."
  type        = string
}

variable "log_analytics_workspace_key" {
  description = "Primary shared key of the workspace."
  type        = string
  sensitive   = true
}
