variable "name" {
  description = "Globally unique storage account name (3-24 lowercase alphanumerics)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3-24 lowercase letters and digits (Storage's rule)."
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

variable "replication_type" {
  description = "Replication: LRS (dev, cheapest), ZRS (survives a zone), GZRS (zone plus paired region)."
  type        = string
  default     = "LRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "GZRS", "RAGRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be one of LRS, ZRS, GRS, GZRS, RAGRS, RAGZRS."
  }
}

variable "table_prefix" {
  description = "Prefix of the backend's tables (its SPYOPS_TABLE_PREFIX): <prefix>signals, executions, orders, ids, chains."
  type        = string
  default     = "spyops"

  validation {
    # 63 characters at most per table name, and "executions" is the longest role (10).
    condition     = can(regex("^[A-Za-z][A-Za-z0-9]{0,52}$", var.table_prefix))
    error_message = "table_prefix must be 1-53 letters and digits starting with a letter (Table Storage's name rule)."
  }
}

variable "table_data_contributor_principal_ids" {
  description = "Principals granted Storage Table Data Contributor on the account, keyed by a stable label, e.g. { backend = <web app identity> }."
  type        = map(string)
  default     = {}
}

variable "allowed_subnet_ids" {
  description = "Subnets admitted by the storage firewall (the backend's integration subnet)."
  type        = list(string)
  default     = []
}

variable "allowed_ip_cidrs" {
  description = "Public IPs/CIDRs admitted by the storage firewall (operators). Storage wants bare IPs or /0-/30 prefixes."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_ip_cidrs : can(cidrnetmask(cidr)) || can(cidrhost("${cidr}/32", 0))])
    error_message = "allowed_ip_cidrs must hold IPv4 addresses or CIDR blocks."
  }
}

variable "log_analytics_workspace_id" {
  description = "Workspace that receives the table service's logs."
  type        = string
}
