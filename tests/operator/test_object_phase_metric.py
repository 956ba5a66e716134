"""spyops_operator_object_phase: one series per custom resource, so an alert can name what is Stalled."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from spyops.common import metrics_text
from spyops.operator.main import _ManagedObjects
from spyops.operator.state import Cache


def _body(namespace: str, name: str, phase: str | None) -> dict[str, object]:
    return {
        "metadata": {"namespace": namespace, "name": name},
        "status": {"phase": phase} if phase else {},
    }


def test_each_object_has_its_phase_series_and_the_counts_agree() -> None:
    cache = Cache()
    cache.put_resource("TradingStrategy", _body("prod", "spy-0dte", "Stalled"))
    cache.put_resource("TradingStrategy", _body("prod", "spy-1", "Running"))
    cache.put_resource("IBKRGateway", _body("prod", "gw", None))
    registry = CollectorRegistry()
    registry.register(_ManagedObjects(cache))
    text = generate_latest(registry).decode()
    stalled = {"kind": "TradingStrategy", "name": "spy-0dte", "namespace": "prod", "phase": "Stalled"}
    assert metrics_text.value(text, "spyops_operator_object_phase", stalled) == 1.0
    unknown = {"kind": "IBKRGateway", "name": "gw", "namespace": "prod", "phase": "Unknown"}
    assert metrics_text.value(text, "spyops_operator_object_phase", unknown) == 1.0
    running = {"kind": "TradingStrategy", "phase": "Running"}
    assert metrics_text.value(text, "spyops_operator_managed_objects", running) == 1.0
    cache.drop_resource("TradingStrategy", "prod", "spy-0dte")
    after = metrics_text.samples(generate_latest(registry).decode())
    assert [s for s in after if s.labels.get("name") == "spy-0dte"] == []
