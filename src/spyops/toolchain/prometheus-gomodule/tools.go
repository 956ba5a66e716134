//go:build tools

// Package tools pins Prometheus and promtool so that `go mod tidy` keeps their module; each binary
// is built with `go build <package>` (see spyops.toolchain.monitoring).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
