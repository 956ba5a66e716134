//go:build tools

// Package tools pins the real node's commands (kubelet, kube-proxy) so that
// `go mod tidy` keeps their modules; they are built with `go build <package>`.
// A module of its own (not ../gomodule) so that adding the node does not change
// the control plane's cache key.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
