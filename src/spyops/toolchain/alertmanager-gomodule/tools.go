//go:build tools

// Package tools pins Alertmanager and amtool so that `go mod tidy` keeps their module; each binary
// is built with `go build <package>` (see spyops.toolchain.monitoring).
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
	_ "github.com/prometheus/alertmanager/cmd/amtool"
)
