# A full plan of the environment with terraform.tfvars against a mocked azurerm
# provider (real schema, no Azure calls, no credentials): catches what
# `validate` cannot, such as variable validations on the real values,
# preconditions, and for_each keys unknown at plan time.

mock_provider "azurerm" {}

run "plan" {
  command = plan

  assert {
    condition     = output.vpn_link.resourceGroup == "rg-spyops-${var.environment}"
    error_message = "the VpnLink resource group is not the environment's"
  }

  assert {
    condition     = output.vpn_link.gatewayName == "vpngw-spyops-${var.environment}"
    error_message = "the VpnLink gateway name changed"
  }

  assert {
    condition     = output.vpn_link.connectionName == "cn-spyops-${var.environment}-onprem"
    error_message = "the VpnLink connection name changed"
  }

  assert {
    condition     = output.vpn_ipsec_policy.ike_encryption == "AES256" && output.vpn_ipsec_policy.pfs_group == "PFS2048"
    error_message = "the environment does not use the seeds' crypto policy"
  }

  assert {
    condition     = output.key_vault.secret_names.signalr_connection_string == "signalr-connection-string" && output.key_vault.secret_names.storage_connection_string == "storage-connection-string"
    error_message = "the Key Vault secret names the backend reads changed"
  }

  assert {
    condition     = length(output.vpn_gateway_public_ips) == (var.vpn_active_active ? 2 : 1)
    error_message = "the gateway has the wrong number of public IPs for its mode"
  }
}
