//go:build tools

// Package tools pins the azurerm provider so that `go mod tidy` keeps its
// module; the binary is built with `go build github.com/hashicorp/terraform-provider-azurerm`.
package tools

import (
	_ "github.com/hashicorp/terraform-provider-azurerm"
)
