"""An embedded Kubernetes control plane for tests and the demo: real binaries, no containers."""
