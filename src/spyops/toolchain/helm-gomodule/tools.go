//go:build tools

// Package tools pins the helm command so that `go mod tidy` keeps its module;
// the binary is built with `go build helm.sh/helm/v4/cmd/helm`.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
