variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"spyops-dev\"."
  type        = string
}

variable "location" {
  description = "Azure region of the gateway."
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

variable "gateway_subnet_id" {
  description = "ID of the VNet's GatewaySubnet."
  type        = string

  validation {
    condition     = endswith(var.gateway_subnet_id, "/subnets/GatewaySubnet")
    error_message = "gateway_subnet_id must be the ID of a subnet named GatewaySubnet."
  }
}

variable "gateway_sku" {
  description = "VPN gateway SKU. VpnGw1AZ+ carry the seeds' custom IPsec/IKE policy; Basic (the budget profile) cannot, and needs azure_default_ipsec_policy = true. The non-AZ VpnGw1-5 are retired for new gateways."
  type        = string
  default     = "VpnGw1AZ"

  validation {
    condition     = contains(["Basic", "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"], var.gateway_sku)
    error_message = "gateway_sku must be Basic or one of VpnGw1AZ..VpnGw5AZ (the non-AZ SKUs are retired for new gateways)."
  }
}

variable "azure_default_ipsec_policy" {
  description = "Use Azure's default IPsec/IKE proposals instead of ipsec_policy (IKE with DH group 2, ESP without PFS when Azure initiates). Required by the Basic SKU; weaker than the seeds' policy, see terraform/README.md."
  type        = bool
  default     = false
}

variable "gateway_generation" {
  description = "VPN gateway generation; VpnGw1AZ exists in Generation1 and Generation2."
  type        = string
  default     = "Generation1"

  validation {
    condition     = contains(["Generation1", "Generation2"], var.gateway_generation)
    error_message = "gateway_generation must be Generation1 or Generation2."
  }
}

variable "active_active" {
  description = "Run the gateway active-active (two instances, two public IPs, two tunnels to the edge)."
  type        = bool
  default     = false
}

variable "zones" {
  description = "Availability zones of the gateway's public IPs (the AZ SKUs need zone-redundant Standard IPs)."
  type        = list(string)
  default     = ["1", "2", "3"]

  validation {
    condition     = alltrue([for zone in var.zones : contains(["1", "2", "3"], zone)])
    error_message = "zones may only contain \"1\", \"2\" and \"3\"."
  }
}

variable "onprem_public_ip" {
  description = "The edge's public IPv4 address; the gateway negotiates IKE with this address only."
  type        = string

  validation {
    condition     = can(cidrhost("${var.onprem_public_ip}/32", 0)) && !can(regex("^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|127\\.|0\\.)", var.onprem_public_ip))
    error_message = "onprem_public_ip must be a public IPv4 address (not RFC 1918, loopback or 0.0.0.0/8)."
  }
}

variable "onprem_address_space" {
  description = "The on-premises network behind the edge (the seeds' plan: 192.168.1.0/24)."
  type        = list(string)
  default     = ["192.168.1.0/24"]

  validation {
    condition     = length(var.onprem_address_space) > 0 && alltrue([for cidr in var.onprem_address_space : can(cidrnetmask(cidr))])
    error_message = "onprem_address_space must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "key_vault_id" {
  description = "ID of the Key Vault that holds the pre-shared key."
  type        = string
}

variable "shared_key_secret_name" {
  description = "Name of the Key Vault secret holding the IPsec pre-shared key (set it before the first apply, see terraform/README.md)."
  type        = string
  default     = "vpn-shared-key"

  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.shared_key_secret_name))
    error_message = "shared_key_secret_name must be 1-127 characters of letters, digits and hyphens (Key Vault's rule)."
  }
}

variable "ipsec_policy" {
  description = <<-EOT
    IKE/IPsec crypto policy of the connection. The default is the seeds' policy:
    IKE phase 1 AES256 / SHA256 / DHGroup14, IPsec phase 2 GCMAES256 / GCMAES256
    with PFS2048 (DH group 14), SA lifetime 27000 s / 102400000 KB. The edge's
    strongSwan must propose exactly this set (aes256-sha256-modp2048 and
    aes256gcm16-modp2048).
  EOT
  type = object({
    ike_encryption   = string
    ike_integrity    = string
    dh_group         = string
    ipsec_encryption = string
    ipsec_integrity  = string
    pfs_group        = string
    sa_lifetime      = number
    sa_datasize      = number
  })
  default = {
    ike_encryption   = "AES256"
    ike_integrity    = "SHA256"
    dh_group         = "DHGroup14"
    ipsec_encryption = "GCMAES256"
    ipsec_integrity  = "GCMAES256"
    pfs_group        = "PFS2048"
    sa_lifetime      = 27000
    sa_datasize      = 102400000
  }

  validation {
    condition     = contains(["AES256", "GCMAES256", "AES192", "GCMAES128", "AES128"], var.ipsec_policy.ike_encryption)
    error_message = "ipsec_policy.ike_encryption must be an AES variant (DES and DES3 are refused)."
  }

  validation {
    condition     = contains(["SHA256", "SHA384", "GCMAES256", "GCMAES128"], var.ipsec_policy.ike_integrity)
    error_message = "ipsec_policy.ike_integrity must be SHA256, SHA384 or GCMAES (MD5 and SHA1 are refused)."
  }

  validation {
    condition     = contains(["DHGroup14", "DHGroup2048", "DHGroup24", "ECP256", "ECP384"], var.ipsec_policy.dh_group)
    error_message = "ipsec_policy.dh_group must be DHGroup14/DHGroup2048, DHGroup24, ECP256 or ECP384 (groups 1 and 2 are refused)."
  }

  validation {
    condition     = contains(["GCMAES256", "GCMAES192", "GCMAES128", "AES256", "AES192", "AES128"], var.ipsec_policy.ipsec_encryption)
    error_message = "ipsec_policy.ipsec_encryption must be an AES or GCMAES variant."
  }

  validation {
    condition     = contains(["GCMAES256", "GCMAES192", "GCMAES128", "SHA256"], var.ipsec_policy.ipsec_integrity)
    error_message = "ipsec_policy.ipsec_integrity must be GCMAES or SHA256 (MD5 and SHA1 are refused)."
  }

  validation {
    # Azure requires GCM integrity to match GCM encryption when either is GCM.
    condition = (
      !startswith(var.ipsec_policy.ipsec_encryption, "GCM") && !startswith(var.ipsec_policy.ipsec_integrity, "GCM")
      ) || (
      var.ipsec_policy.ipsec_encryption == var.ipsec_policy.ipsec_integrity
    )
    error_message = "ipsec_policy: a GCMAES ipsec_encryption needs the same GCMAES ipsec_integrity, and vice versa."
  }

  validation {
    condition     = contains(["PFS2048", "PFS14", "PFS24", "ECP256", "ECP384"], var.ipsec_policy.pfs_group)
    error_message = "ipsec_policy.pfs_group must be PFS2048/PFS14, PFS24, ECP256 or ECP384 (None, PFS1 and PFS2 are refused)."
  }

  validation {
    condition     = var.ipsec_policy.sa_lifetime >= 300 && var.ipsec_policy.sa_lifetime <= 172799
    error_message = "ipsec_policy.sa_lifetime must be 300-172799 seconds."
  }

  validation {
    condition     = var.ipsec_policy.sa_datasize >= 1024
    error_message = "ipsec_policy.sa_datasize must be at least 1024 KB."
  }
}

variable "dpd_timeout_seconds" {
  description = "Dead peer detection timeout of the connection."
  type        = number
  default     = 45

  validation {
    condition     = var.dpd_timeout_seconds >= 9 && var.dpd_timeout_seconds <= 3600
    error_message = "dpd_timeout_seconds must be 9-3600."
  }
}

variable "log_analytics_workspace_id" {
  description = "Workspace that receives the gateway's tunnel, IKE and route logs."
  type        = string
}
