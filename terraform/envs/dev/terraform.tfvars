# dev: the cheapest working shape. One B1 instance, one VPN gateway instance,
# Free SignalR and Static Web App, LRS storage, Basic ACR. See the cost table
# in terraform/README.md. IDs and addresses below are placeholders to replace.
subscription_id    = "00000000-0000-0000-0000-000000000000"
tenant_id          = "00000000-0000-0000-0000-000000000000"
environment        = "dev"
location           = "westeurope"
global_name_suffix = "dev01"

onprem_public_ip     = "203.0.113.10"
onprem_address_space = ["192.168.1.0/24"]
admin_ip_cidrs       = ["203.0.113.10"]

alert_emails = {
  oncall = "oncall@example.com"
}

backend_image = "spyops/backend:0.1.0"

app_service_sku            = "B1"
app_service_worker_count   = 1
app_service_zone_balancing = false
vpn_gateway_sku            = "VpnGw1AZ"
vpn_active_active          = false
signalr_sku                = "Free_F1"
signalr_capacity           = 1
static_web_sku             = "Free"
storage_replication_type   = "LRS"
acr_sku                    = "Basic"
log_retention_days         = 30
log_daily_quota_gb         = 0.5
