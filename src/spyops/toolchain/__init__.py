"""Building and caching the native tools spyops runs (control plane, helm, OpenTofu) from Go modules."""

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools, cache_root

__all__ = ["GoBuildError", "GoTool", "build_go_tools", "cache_root"]
