output "id" {
  description = "ID of the Key Vault."
  value       = azurerm_key_vault.this.id
}

output "name" {
  description = "Name of the Key Vault."
  value       = azurerm_key_vault.this.name
}

output "vault_uri" {
  description = "URI of the Key Vault, e.g. https://kv-spyops-dev.vault.azure.net/."
  value       = azurerm_key_vault.this.vault_uri
}

output "secret_versionless_ids" {
  description = "Versionless URIs of the secrets this module wrote or generated, keyed by name (for Key Vault references, which then follow rotations)."
  # vault URI + "secrets/" + name is exactly the versionless ID; built from the secret's name so
  # the reference still waits for the secret, and stays readable in a plan.
  value = merge(
    { for name, secret in azurerm_key_vault_secret.this : name => "${azurerm_key_vault.this.vault_uri}secrets/${secret.name}" },
    { for name, secret in azurerm_key_vault_secret.generated : name => "${azurerm_key_vault.this.vault_uri}secrets/${secret.name}" },
  )
}
