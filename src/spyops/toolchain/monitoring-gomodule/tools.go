//go:build tools

// Package tools pins Prometheus, promtool, Alertmanager and amtool so that `go mod tidy` keeps
// their modules; each binary is built with `go build <package>` (see spyops.toolchain.monitoring).
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
	_ "github.com/prometheus/alertmanager/cmd/amtool"
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
