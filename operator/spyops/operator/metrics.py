"""Prometheus metrics, named like controller-runtime's so the usual dashboards and alerts transfer."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller, by result (success, error, requeue, requeue_after).",
    ["controller", "result"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller.",
    ["controller"],
    buckets=(
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
        0.4,
        0.5,
        0.75,
        1,
        1.5,
        2,
        3,
        5,
        10,
        30,
        60,
    ),
    registry=REGISTRY,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers",
    "Number of currently used workers per controller.",
    ["controller"],
    registry=REGISTRY,
)
MAX_CONCURRENT = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller.",
    ["controller"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge("workqueue_depth", "Current depth of workqueue.", ["name"], registry=REGISTRY)
QUEUE_ADDS = Counter(
    "workqueue_adds_total", "Total number of adds handled by workqueue.", ["name"], registry=REGISTRY
)
QUEUE_RETRIES = Counter(
    "workqueue_retries_total", "Total number of retries handled by workqueue.", ["name"], registry=REGISTRY
)
QUEUE_LATENCY = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ["name"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60),
    registry=REGISTRY,
)
CHILD_APPLIES = Counter(
    "spyops_operator_child_applies_total",
    "Server-side applies of child objects, by kind and whether the child had drifted or was new.",
    ["kind", "reason"],
    registry=REGISTRY,
)
CHILD_EVENTS_ALREADY_SEEN = Counter(
    "spyops_operator_child_events_already_seen_total",
    "Watch events of children whose version the cache already held (the echo of the operator's own "
    "apply): nothing was queued for them.",
    registry=REGISTRY,
)
STATUS_WRITES_DEFERRED = Counter(
    "spyops_operator_status_writes_deferred_total",
    "Status writes that only moved a rollout's counters and messages, held back to be written with a "
    "later one (at most one such write per object every 10 s), by kind.",
    ["kind"],
    registry=REGISTRY,
)
RECONCILED_OBJECTS = Gauge(
    "spyops_operator_reconciled_objects",
    "Objects reconciled without error at least once since this replica started reconciling (after a "
    "restart or failover it climbs to the number of objects: each has been looked at).",
    ["controller"],
    registry=REGISTRY,
)
# spyops_operator_managed_objects{kind,phase} is a collector over the watch cache (see main.py).
LEADER = Gauge(
    "spyops_operator_leader", "1 when this replica holds the leader Lease and reconciles.", registry=REGISTRY
)
