variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"spyops-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-22 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "location" {
  description = "Azure region of the resource group and the network, e.g. \"westeurope\"."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "address_space" {
  description = "Address space of the VNet (the seeds' plan: 10.0.0.0/16)."
  type        = list(string)
  default     = ["10.0.0.0/16"]

  validation {
    condition     = length(var.address_space) > 0 && alltrue([for cidr in var.address_space : can(cidrnetmask(cidr))])
    error_message = "address_space must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "gateway_subnet_prefix" {
  description = "Prefix of GatewaySubnet; Azure recommends /27 or larger for VPN gateways."
  type        = string
  default     = "10.0.0.0/27"

  validation {
    condition     = can(cidrnetmask(var.gateway_subnet_prefix)) && tonumber(split("/", var.gateway_subnet_prefix)[1]) <= 27
    error_message = "gateway_subnet_prefix must be an IPv4 CIDR block of /27 or larger."
  }
}

variable "app_subnet_prefix" {
  description = "Prefix of the app subnet, delegated to App Service for the backend's VNet integration."
  type        = string
  default     = "10.0.1.0/24"

  validation {
    condition     = can(cidrnetmask(var.app_subnet_prefix)) && tonumber(split("/", var.app_subnet_prefix)[1]) <= 26
    error_message = "app_subnet_prefix must be an IPv4 CIDR block of /26 or larger (App Service VNet integration needs room to scale)."
  }
}

variable "container_subnet_prefix" {
  description = "Prefix of the container subnet, delegated to Azure Container Instances."
  type        = string
  default     = "10.0.2.0/24"

  validation {
    condition     = can(cidrnetmask(var.container_subnet_prefix))
    error_message = "container_subnet_prefix must be an IPv4 CIDR block."
  }
}

variable "onprem_address_space" {
  description = "The on-premises (edge) network behind the VPN (the seeds' plan: 192.168.1.0/24)."
  type        = list(string)
  default     = ["192.168.1.0/24"]

  validation {
    condition     = length(var.onprem_address_space) > 0 && alltrue([for cidr in var.onprem_address_space : can(cidrnetmask(cidr))])
    error_message = "onprem_address_space must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "https_port" {
  description = "The port the app and the containers serve HTTPS on."
  type        = number
  default     = 443

  validation {
    condition     = var.https_port > 0 && var.https_port < 65536
    error_message = "https_port must be a TCP port number (1-65535)."
  }
}
