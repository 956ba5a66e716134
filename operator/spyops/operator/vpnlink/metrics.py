"""Prometheus metrics of the VpnLink controller. One instance per registry (tests use their own)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from spyops.operator.vpnlink.model import LinkHealth
from spyops.operator.vpnlink.probes import ProbeResult

CONNECTION_STATUSES = ("Connected", "Connecting", "NotConnected", "Unknown")


class VpnLinkMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        labels = ["namespace", "vpnlink"]
        self.link_up = Gauge(
            "spyops_vpnlink_up",
            "1 when the link is Healthy or Degraded, 0 when Down or Unknown.",
            labels,
            registry=registry,
        )
        self.health = Gauge(
            "spyops_vpnlink_health",
            "1 for the link's current health state.",
            [*labels, "state"],
            registry=registry,
        )
        self.azure_status = Gauge(
            "spyops_vpnlink_azure_connection_status",
            "1 for the connection status Azure reports (state set).",
            [*labels, "status"],
            registry=registry,
        )
        self.tunnels_connected = Gauge(
            "spyops_vpnlink_tunnels_connected", "Tunnels Azure reports Connected.", labels, registry=registry
        )
        self.bytes = Gauge(
            "spyops_vpnlink_azure_bytes",
            "Bytes through the connection as Azure counts them.",
            [*labels, "direction"],
            registry=registry,
        )
        self.probe_latency = Histogram(
            "spyops_vpnlink_probe_latency_seconds",
            "TCP connect time to probe targets across the tunnel.",
            [*labels, "target"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self.probe_failures = Counter(
            "spyops_vpnlink_probe_failures_total", "Failed probes.", [*labels, "target"], registry=registry
        )
        self.azure_errors = Counter(
            "spyops_vpnlink_azure_errors_total",
            "Failed Azure calls by reason.",
            [*labels, "reason"],
            registry=registry,
        )
        self.failovers = Counter(
            "spyops_vpnlink_failovers_total",
            "Failover actions by action and result.",
            [*labels, "action", "result"],
            registry=registry,
        )
        self.consecutive_failures = Gauge(
            "spyops_vpnlink_consecutive_failures", "Failed checks in a row.", labels, registry=registry
        )

    def observe_health(self, namespace: str, link: str, health: LinkHealth, failures: int) -> None:
        self.link_up.labels(namespace, link).set(
            1 if health in (LinkHealth.HEALTHY, LinkHealth.DEGRADED) else 0
        )
        for state in LinkHealth:
            self.health.labels(namespace, link, state.value).set(1 if state is health else 0)
        self.consecutive_failures.labels(namespace, link).set(failures)

    def observe_azure(
        self, namespace: str, link: str, status: str, tunnels_connected: int, ingress: int, egress: int
    ) -> None:
        for s in CONNECTION_STATUSES:
            self.azure_status.labels(namespace, link, s).set(1 if s == status else 0)
        self.tunnels_connected.labels(namespace, link).set(tunnels_connected)
        self.bytes.labels(namespace, link, "ingress").set(ingress)
        self.bytes.labels(namespace, link, "egress").set(egress)

    def observe_probes(self, namespace: str, link: str, probes: Sequence[ProbeResult]) -> None:
        for p in probes:
            if p.ok and p.latency_seconds is not None:
                self.probe_latency.labels(namespace, link, p.target).observe(p.latency_seconds)
            else:
                self.probe_failures.labels(namespace, link, p.target).inc()

    def azure_error(self, namespace: str, link: str, reason: str) -> None:
        self.azure_errors.labels(namespace, link, reason).inc()

    def failover(self, namespace: str, link: str, action: str, result: str) -> None:
        self.failovers.labels(namespace, link, action, result).inc()

    def forget(self, namespace: str, link: str) -> None:
        """Drop a deleted link's series (so dashboards do not show a ghost)."""
        for metric in (
            self.link_up,
            self.health,
            self.azure_status,
            self.tunnels_connected,
            self.bytes,
            self.probe_latency,
            self.probe_failures,
            self.azure_errors,
            self.failovers,
            self.consecutive_failures,
        ):
            for labels in list(metric._metrics):  # prometheus_client has no public iterator
                if labels[:2] == (namespace, link):
                    metric.remove(*labels)
