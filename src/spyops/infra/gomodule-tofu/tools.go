//go:build tools

// Package tools pins the OpenTofu command so that `go mod tidy` keeps its
// module; the binary is built with `go build github.com/opentofu/opentofu/cmd/tofu`.
package tools

import (
	_ "github.com/opentofu/opentofu/cmd/tofu"
)
