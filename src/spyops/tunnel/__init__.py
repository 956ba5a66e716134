"""The edge side of the site-to-site VPN: strongSwan's swanctl.conf rendered from the Terraform outputs."""
