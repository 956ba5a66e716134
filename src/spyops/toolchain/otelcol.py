"""The OpenTelemetry Collector the trace tests send spans to, built from its Go module.

``otelcol-gomodule/`` is a minimal collector main pinned to one collector release (v0.161.0): the
core OTLP receiver (gRPC and HTTP) and the contrib file exporter, which writes every batch it gets
as one OTLP-JSON line. That file is the query path of the end-to-end trace test. It is built once
through the cached Go builder, like kstatus; ``$SPYOPS_OTELCOL`` may name a prebuilt one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyops.cluster.controlplane import free_port
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


def collector_config(grpc_port: int, http_port: int, traces_file: Path) -> dict[str, Any]:
    """A collector on loopback: OTLP in (gRPC and HTTP), every batch out to ``traces_file``.

    Its own telemetry is off: by default it would serve metrics on a fixed port (8888), which
    parallel tests would fight over.
    """
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{grpc_port}"},
                    "http": {"endpoint": f"127.0.0.1:{http_port}"},
                }
            }
        },
        "exporters": {"file": {"path": str(traces_file), "flush_interval": "100ms"}},
        "service": {
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}},
        },
    }


@dataclass(frozen=True)
class SpanRecord:
    """One span as the collector's file exporter wrote it (OTLP-JSON, ids in hex)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    service: str
    attributes: dict[str, Any]
    links: tuple[tuple[str, str, dict[str, Any]], ...]  # (trace id, span id, attributes)
    status_code: int  # 0 unset, 1 ok, 2 error
    start_ns: int
    end_ns: int


def _any_value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])  # OTLP-JSON writes 64-bit integers as strings
    return None


def _attributes(raw: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _any_value(a.get("value", {})) for a in raw or []}


def parse_spans(lines: str) -> list[SpanRecord]:
    """Every span of the file exporter's output (one OTLP-JSON TracesData per line)."""
    spans = []
    # The exporter may be writing the last line right now: only whole lines count.
    complete = lines[: lines.rfind("\n") + 1]
    for line in complete.splitlines():
        if not line.strip():
            continue
        for resource_spans in json.loads(line).get("resourceSpans", []):
            service = str(
                _attributes(resource_spans.get("resource", {}).get("attributes")).get("service.name", "")
            )
            for scope in resource_spans.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    spans.append(
                        SpanRecord(
                            trace_id=span["traceId"],
                            span_id=span["spanId"],
                            parent_span_id=span.get("parentSpanId", ""),
                            name=span["name"],
                            service=service,
                            attributes=_attributes(span.get("attributes")),
                            links=tuple(
                                (link["traceId"], link["spanId"], _attributes(link.get("attributes")))
                                for link in span.get("links", [])
                            ),
                            status_code=int(span.get("status", {}).get("code", 0)),
                            start_ns=int(span.get("startTimeUnixNano", 0)),
                            end_ns=int(span.get("endTimeUnixNano", 0)),
                        )
                    )
    return spans


@dataclass
class Collector:
    """A running collector: where to send (``otlp_http`` / ``otlp_grpc``) and what it received."""

    process: subprocess.Popen[bytes]
    grpc_port: int
    http_port: int
    traces_file: Path
    log_file: Path

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/v1/traces"

    @property
    def otlp_grpc(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def spans(self) -> list[SpanRecord]:
        return parse_spans(self.traces_file.read_text()) if self.traces_file.exists() else []


def _wait_listening(collector: Collector, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if collector.process.poll() is not None:
            raise GoBuildError(
                f"the collector exited: {collector.log_file.read_text(errors='replace')[-3000:]}"
            )
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.settimeout(0.5)
            sock.connect(("127.0.0.1", collector.http_port))
            return
        time.sleep(0.1)
    raise GoBuildError(
        f"the collector did not listen within {within} s: {collector.log_file.read_text()[-3000:]}"
    )


@contextlib.contextmanager
def running_collector(workdir: Path, binary: Path | None = None) -> Iterator[Collector]:
    """Start the collector on free loopback ports with its output in ``workdir``; stop it after."""
    command = binary or ensure_otelcol()
    workdir.mkdir(parents=True, exist_ok=True)
    grpc_port, http_port = free_port(), free_port()
    config = workdir / "otelcol.yaml"
    traces = workdir / "traces.jsonl"
    config.write_text(json.dumps(collector_config(grpc_port, http_port, traces)))  # JSON is YAML
    log_file = workdir / "otelcol.log"
    with log_file.open("wb") as sink:
        process = subprocess.Popen([str(command), "--config", str(config)], stdout=sink, stderr=sink)
    collector = Collector(process, grpc_port, http_port, traces, log_file)
    try:
        _wait_listening(collector, 30.0)
        yield collector
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


if __name__ == "__main__":
    # The path alone on stdout; build progress on stderr.
    print(ensure_otelcol(progress=lambda message: print(message, file=sys.stderr)))
