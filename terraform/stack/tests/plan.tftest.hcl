# A full plan of the stack with one environment's values against a mocked
# azurerm provider (real schema, no Azure calls, no credentials): catches what
# `validate` cannot, such as variable validations on the real values,
# preconditions, and for_each keys unknown at plan time. Run it once per
# environment, from terraform/stack:
#   tofu test -var-file=../envs/dev/terraform.tfvars
#   tofu test -var-file=../envs/prod/terraform.tfvars

mock_provider "azurerm" {
  # Mocked IDs must look like ARM IDs: the provider still validates them.
  mock_data "azurerm_client_config" {
    defaults = {
      object_id       = "11111111-1111-1111-1111-111111111111"
      tenant_id       = "00000000-0000-0000-0000-000000000000"
      subscription_id = "00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "azurerm_resource_group" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test"
    }
  }

  mock_resource "azurerm_virtual_network" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/virtualNetworks/vnet-test"
    }
  }

  mock_resource "azurerm_subnet" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/virtualNetworks/vnet-test/subnets/GatewaySubnet"
    }
  }

  mock_resource "azurerm_network_security_group" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/networkSecurityGroups/nsg-test"
    }
  }

  mock_resource "azurerm_public_ip" {
    defaults = {
      id         = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/publicIPAddresses/pip-test"
      ip_address = "198.51.100.7"
    }
  }

  mock_resource "azurerm_virtual_network_gateway" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/virtualNetworkGateways/vpngw-test"
    }
  }

  mock_resource "azurerm_local_network_gateway" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/localNetworkGateways/lgw-test"
    }
  }

  mock_resource "azurerm_virtual_network_gateway_connection" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Network/connections/cn-test"
    }
  }

  mock_resource "azurerm_key_vault" {
    defaults = {
      id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.KeyVault/vaults/kv-test"
      vault_uri = "https://kv-test.vault.azure.net/"
    }
  }

  mock_resource "azurerm_key_vault_secret" {
    defaults = {
      id             = "https://kv-test.vault.azure.net/secrets/test/0123456789abcdef0123456789abcdef"
      versionless_id = "https://kv-test.vault.azure.net/secrets/test"
    }
  }

  mock_resource "azurerm_log_analytics_workspace" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.OperationalInsights/workspaces/log-test"
      workspace_id = "22222222-2222-2222-2222-222222222222"
    }
  }

  mock_resource "azurerm_application_insights" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Insights/components/appi-test"
    }
  }

  mock_resource "azurerm_monitor_action_group" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Insights/actionGroups/ag-test"
    }
  }

  mock_resource "azurerm_storage_account" {
    defaults = {
      id                     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Storage/storageAccounts/sttest"
      primary_table_endpoint = "https://sttest.table.core.windows.net/"
    }
  }

  mock_resource "azurerm_signalr_service" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.SignalRService/signalR/sigr-test"
    }
  }

  mock_resource "azurerm_container_registry" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.ContainerRegistry/registries/acrtest"
      login_server = "acrtest.azurecr.io"
    }
  }

  mock_resource "azurerm_service_plan" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Web/serverFarms/asp-test"
    }
  }

  mock_resource "azurerm_linux_web_app" {
    defaults = {
      id               = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Web/sites/app-test"
      default_hostname = "app-test.azurewebsites.net"
    }
  }

  mock_resource "azurerm_static_web_app" {
    defaults = {
      id                = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spyops-test/providers/Microsoft.Web/staticSites/stapp-test"
      default_host_name = "test.azurestaticapps.net"
    }
  }
}

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

  # The secure profile enforces the seeds' policy; the budget profile (budget.tfvars) runs a
  # Basic gateway on Azure's default proposals, and says so with a null policy.
  assert {
    condition = (
      var.vpn_azure_default_ipsec_policy
      ? output.vpn_ipsec_policy == null && var.vpn_gateway_sku == "Basic"
      : output.vpn_ipsec_policy.ike_encryption == "AES256" && output.vpn_ipsec_policy.pfs_group == "PFS2048"
    )
    error_message = "the secure profile does not use the seeds' crypto policy, or the budget profile is not Basic with Azure's defaults"
  }

  assert {
    condition     = output.key_vault.secret_names.signalr_connection_string == "signalr-connection-string" && output.key_vault.secret_names.backend_write_token == "backend-write-token"
    error_message = "the Key Vault secret names the backend reads changed"
  }

  assert {
    condition     = join(",", output.vpn_address_spaces.onprem) == join(",", var.onprem_address_space) && join(",", output.vpn_address_spaces.azure) == "10.0.0.0/16" && output.vpn_edge_public_ip == var.onprem_public_ip
    error_message = "the edge's traffic selectors or identity do not come from the variables"
  }

  assert {
    condition     = output.history.table_prefix == "spyops" && length(output.history.tables) == 5
    error_message = "the history tables are not the backend's five <prefix><role> tables"
  }

  assert {
    condition     = length(output.vpn_gateway_public_ips) == (var.vpn_active_active ? 2 : 1)
    error_message = "the gateway has the wrong number of public IPs for its mode"
  }
}
