# prod: HA where it pays. Two zone-balanced Premium v3 instances behind the
# health check, an active-active VPN gateway (two tunnels to the edge),
# Standard SignalR and Static Web App (SLAs), ZRS storage, Standard ACR.
# IDs and addresses below are placeholders to replace.
subscription_id    = "00000000-0000-0000-0000-000000000000"
tenant_id          = "00000000-0000-0000-0000-000000000000"
environment        = "prod"
location           = "westeurope"
global_name_suffix = "prd01"

onprem_public_ip     = "203.0.113.10"
onprem_address_space = ["192.168.1.0/24"]
admin_ip_cidrs       = ["203.0.113.10"]

alert_emails = {
  oncall = "oncall@example.com"
}

backend_image = "spyops/backend:0.1.0"

app_service_sku            = "P0v3"
app_service_worker_count   = 2
app_service_zone_balancing = true
vpn_gateway_sku            = "VpnGw1AZ"
vpn_active_active          = true
signalr_sku                = "Standard_S1"
signalr_capacity           = 1
static_web_sku             = "Standard"
storage_replication_type   = "ZRS"
acr_sku                    = "Standard"
log_retention_days         = 90
log_daily_quota_gb         = 2
