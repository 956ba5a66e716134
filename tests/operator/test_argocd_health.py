"""The chart's Argo CD health checks, executed by a real Lua interpreter (Lua 5.4 through lupa;
Argo CD runs gopher-lua, a Lua 5.1: the scripts use only what both have)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lupa import lua54

ARGOCD = Path(__file__).resolve().parents[2] / "charts" / "spyops" / "argocd"


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    return value


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    runtime = lua54.LuaRuntime(unpack_returned_tuples=True)
    script = (ARGOCD / f"spyops.io_{kind}.lua").read_text()
    runtime.globals().obj = _to_lua(runtime, obj)
    result = runtime.execute(script)
    return str(result["status"]), str(result["message"])


def cond(kind: str, status: str, message: str = "m") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": "R", "message": message}


def obj(
    status: dict[str, Any] | None, generation: int = 2, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "x", "generation": generation}, "spec": spec or {}}
    if status is not None:
        body["status"] = status
    return body


CASES = [
    ("TradingStrategy", obj(None), "Progressing"),
    ("TradingStrategy", obj({"observedGeneration": 1, "conditions": [cond("Ready", "True")]}), "Progressing"),
    ("TradingStrategy", obj({"observedGeneration": 2, "conditions": [cond("Ready", "True")]}), "Healthy"),
    (
        "TradingStrategy",
        obj({"observedGeneration": 2, "conditions": [cond("Ready", "False")]}),
        "Progressing",
    ),
    (
        "TradingStrategy",
        obj(
            {"observedGeneration": 2, "conditions": [cond("Ready", "False"), cond("Stalled", "True", "bad")]}
        ),
        "Degraded",
    ),
    (
        "TradingStrategy",
        obj({"observedGeneration": 2, "phase": "Halted", "conditions": [cond("Ready", "True")]}),
        "Suspended",
    ),
    (
        "TradingStrategy",
        obj({"observedGeneration": 2, "conditions": [cond("Ready", "False")]}, spec={"suspend": True}),
        "Suspended",
    ),
    ("IBKRGateway", obj(None), "Progressing"),
    ("IBKRGateway", obj({"observedGeneration": 2, "conditions": [cond("Ready", "True")]}), "Healthy"),
    (
        "IBKRGateway",
        obj(
            {
                "observedGeneration": 2,
                "conditions": [cond("Ready", "False"), cond("CredentialsAvailable", "False")],
            }
        ),
        "Degraded",
    ),
    ("IBKRGateway", obj({"observedGeneration": 2, "conditions": [cond("Ready", "False")]}), "Progressing"),
    ("VpnLink", obj(None), "Progressing"),
    (
        "VpnLink",
        obj({"observedGeneration": 2, "health": "Healthy", "conditions": [cond("Ready", "True")]}),
        "Healthy",
    ),
    ("VpnLink", obj({"observedGeneration": 2, "health": "Down", "consecutiveFailures": 4}), "Degraded"),
    ("VpnLink", obj({"observedGeneration": 2, "health": "Unknown"}), "Progressing"),
    ("VpnLink", obj({"observedGeneration": 1, "health": "Healthy"}), "Progressing"),
]


@pytest.mark.parametrize(("kind", "body", "expected"), CASES)
def test_health(kind: str, body: dict[str, Any], expected: str) -> None:
    status, message = health(kind, body)
    assert status == expected
    assert message


def test_messages_carry_the_condition_message() -> None:
    _, message = health(
        "IBKRGateway",
        obj(
            {
                "observedGeneration": 2,
                "conditions": [cond("CredentialsAvailable", "False", "Secret ibkr missing")],
            }
        ),
    )
    assert message == "Secret ibkr missing"
    _, down = health("VpnLink", obj({"observedGeneration": 2, "health": "Down", "consecutiveFailures": 4}))
    assert "4 consecutive" in down
