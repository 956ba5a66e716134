"""Prometheus metrics of the detector service (one registry per service instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from spyops.schemas import AnomalyKind

# The scan of a ~100-contract chain takes tens of microseconds; the buckets resolve that
# and still show a pathological millisecond scan.
SCAN_BUCKETS = (
    50e-6,
    75e-6,
    100e-6,
    150e-6,
    200e-6,
    300e-6,
    500e-6,
    750e-6,
    1e-3,
    2e-3,
    5e-3,
    10e-3,
    20e-3,
    50e-3,
)


class DetectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.anomalies = Counter(
            "spyops_detector_anomalies",
            "Anomaly episodes detected (one per signal), by rule.",
            ["rule"],
            registry=registry,
        )
        for kind in AnomalyKind:
            self.anomalies.labels(kind.value)
        self.scan_seconds = Histogram(
            "spyops_detector_scan_seconds",
            "Time to scan one snapshot: build the arrays, run the rules, update the episodes.",
            buckets=SCAN_BUCKETS,
            registry=registry,
        )
        self.detection_delay = Histogram(
            "spyops_detector_detection_delay_seconds",
            "From the culprit's quote change arriving to its signal being built (stale quotes excluded).",
            buckets=(100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0),
            registry=registry,
        )
        self.scans = Counter("spyops_detector_scans", "Snapshots scanned.", registry=registry)
        self.scan_failures = Counter(
            "spyops_detector_scan_failures", "Scans that raised (the loop goes on).", registry=registry
        )
        self.quotes = Counter(
            "spyops_detector_quotes",
            "Quote changes received (underlying and options); its rate is quotes per second.",
            registry=registry,
        )
        self.bad_ticks = Counter(
            "spyops_detector_bad_ticks",
            "Ticker updates that could not be read (the quote is kept as it was).",
            registry=registry,
        )
        self.subscribed_lines = Gauge(
            "spyops_detector_subscribed_lines",
            "Market-data lines in use (the underlying and every option streamed).",
            registry=registry,
        )
        self.line_budget = Gauge(
            "spyops_detector_line_budget", "Configured market-data line budget.", registry=registry
        )
        self.connected = Gauge(
            "spyops_detector_connected",
            "1 while connected to the gateway with connectivity to IB.",
            registry=registry,
        )
        self.reconnects = Counter(
            "spyops_detector_reconnects",
            "Connections made to the gateway after the first.",
            registry=registry,
        )
        self.gateway_errors = Counter(
            "spyops_detector_gateway_errors",
            "Error and notice codes received from the gateway.",
            ["code"],
            registry=registry,
        )
        self.signals_published = Counter(
            "spyops_detector_signals_published",
            "Signals appended to the stream (and queued for the backend).",
            registry=registry,
        )
        self.outbox_failures = Counter(
            "spyops_detector_outbox_enqueue_failures",
            "Signals that could not be written to the outbox.",
            registry=registry,
        )
        self.chain_posts = Counter(
            "spyops_detector_chain_posts",
            "Chain snapshots posted to the backend, by result.",
            ["result"],
            registry=registry,
        )
        self.config_reloads = Counter(
            "spyops_detector_config_reloads", "Runtime config changes applied.", registry=registry
        )
        self.config_errors = Counter(
            "spyops_detector_config_reload_errors",
            "Runtime config changes rejected (the previous config stays).",
            registry=registry,
        )
        self.last_signal = Gauge(
            "spyops_detector_last_signal_timestamp_seconds",
            "Unix time of the last published signal.",
            registry=registry,
        )
