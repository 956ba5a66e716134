"""spyops_operator_object_phase: one series per custom resource, so an alert can name what is Stalled."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

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
    assert (
        'spyops_operator_object_phase{kind="TradingStrategy",name="spy-0dte",namespace="prod",phase="Stalled"} 1.0'
        in text
    )
    assert (
        'spyops_operator_object_phase{kind="IBKRGateway",name="gw",namespace="prod",phase="Unknown"} 1.0'
        in text
    )
    assert 'spyops_operator_managed_objects{kind="TradingStrategy",phase="Running"} 1.0' in text
    cache.drop_resource("TradingStrategy", "prod", "spy-0dte")
    assert 'name="spy-0dte"' not in generate_latest(registry).decode()
