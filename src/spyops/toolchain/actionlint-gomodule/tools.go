//go:build tools

// Package tools pins the actionlint command so that `go mod tidy` keeps its module;
// the binary is built with `go build github.com/rhysd/actionlint/cmd/actionlint`.
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
