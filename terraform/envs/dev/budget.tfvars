# The budget profile of dev: about $53 a month (the seeds' figure; see the cost table in
# terraform/README.md). Use it ON TOP of terraform.tfvars:
#
#   spyops infra plan --env dev --var-file budget.tfvars
#   (or, in terraform/stack: tofu plan -var-file=../envs/dev/terraform.tfvars -var-file=../envs/dev/budget.tfvars)
#
# SECURITY TRADE-OFF, read before using it. The only big saving is the VPN gateway: Basic
# (~$26/month) instead of VpnGw1AZ (~$139). Basic cannot carry a custom IPsec/IKE policy, so the
# tunnel runs on Azure's default proposals:
#   - IKE key exchange with Diffie-Hellman group 2 (1024-bit MODP), below today's recommended
#     2048 bits: a well-funded attacker who records the traffic may break it later. The edge's
#     strongSwan must explicitly allow it (proposals = aes256-sha256-modp1024), since strongSwan's
#     default proposal leaves modp1024 out as weak.
#   - ESP without perfect forward secrecy when Azure initiates a rekey: one broken IKE SA exposes
#     every child SA derived from it.
#   - The seeds' policy (AES256/SHA256/DHGroup14, GCMAES256 with PFS2048) cannot be enforced:
#     Azure accepts any of its default offers, including 3DES and SHA1 ones.
#   - No zone redundancy, no active-active, no BGP; Microsoft calls Basic a legacy SKU.
# What stays the same: the backend (B1, managed identity, Key Vault references), the firewalls,
# TLS everywhere above the tunnel. The traffic in the tunnel is already TLS (HTTPS to the backend),
# so the weaker IPsec is a second layer getting weaker, not the only one. Prod refuses this profile
# (a precondition in main.tf); dev without this file keeps the secure default.
vpn_gateway_sku                = "Basic"
vpn_azure_default_ipsec_policy = true
vpn_active_active              = false

# Free or cheapest tiers everywhere else (as in terraform.tfvars), and a log cap that stays inside
# Log Analytics' free 5 GB a month.
app_service_sku            = "B1"
app_service_worker_count   = 1
app_service_zone_balancing = false
signalr_sku                = "Free_F1"
signalr_capacity           = 1
static_web_sku             = "Free"
storage_replication_type   = "LRS"
acr_sku                    = "Basic"
log_retention_days         = 30
log_daily_quota_gb         = 0.1
