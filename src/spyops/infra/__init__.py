"""The Azure side's tooling: OpenTofu and the azurerm provider built from their Go modules, and a thin runner."""
