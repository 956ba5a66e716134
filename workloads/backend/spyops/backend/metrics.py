"""Prometheus metrics of one backend instance (its own registry, so several apps can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BackendMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "spyops_backend_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "spyops_backend_http_request_seconds",
            "HTTP request handling time by route template.",
            ["route"],
            registry=self.registry,
        )
        self.ingested = Counter(
            "spyops_backend_ingested_records",
            "Records received on the write endpoints, by kind and outcome (stored, duplicate, updated).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "spyops_backend_auth_failures",
            "Write requests refused for a missing or wrong token.",
            registry=self.registry,
        )
        self.ws_clients = Gauge(
            "spyops_backend_websocket_clients",
            "Dashboards connected to the live stream.",
            registry=self.registry,
        )
        self.ws_dropped = Counter(
            "spyops_backend_websocket_dropped_clients",
            "Live-stream clients disconnected because their queue was full (too slow).",
            registry=self.registry,
        )
        self.broadcasts = Counter(
            "spyops_backend_broadcast_messages",
            "Messages fanned out to the live stream, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.signalr = Counter(
            "spyops_backend_signalr_publishes",
            "Messages sent to Azure SignalR, by outcome (sent, failed, dropped).",
            ["outcome"],
            registry=self.registry,
        )
        self.store_errors = Counter(
            "spyops_backend_store_errors",
            "Store operations that failed.",
            ["operation"],
            registry=self.registry,
        )
