"""The OpenTelemetry Collector the trace tests send spans to, built from its Go module.

``otelcol-gomodule/`` is a minimal collector main pinned to one collector release (v0.161.0): the
core OTLP receiver (gRPC and HTTP) and the contrib file exporter, which writes every batch it gets
as one OTLP-JSON line. That file is the query path of the end-to-end trace test. It is built once
through the cached Go builder, like kstatus; ``$SPYOPS_OTELCOL`` may name a prebuilt one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools

OTELCOL_MODULE_DIR = Path(__file__).parent / "otelcol-gomodule"


def ensure_otelcol(progress: Callable[[str], None] | None = None) -> Path:
    """Path of the collector: $SPYOPS_OTELCOL if set, else the pinned build (built once, then cached)."""
    explicit = os.environ.get("SPYOPS_OTELCOL")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise GoBuildError(f"SPYOPS_OTELCOL={explicit} is not an executable file")
        return path
    # -s -w: no symbol table or DWARF (smaller, nothing to debug here).
    tool = GoTool("otelcol", ".", ("-s", "-w"))
    return build_go_tools(OTELCOL_MODULE_DIR, [tool], cache_subdir="otelcol", progress=progress)["otelcol"]


if __name__ == "__main__":
    # The path alone on stdout; build progress on stderr.
    print(ensure_otelcol(progress=lambda message: print(message, file=sys.stderr)))
