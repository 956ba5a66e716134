"""Scenario files (parsing, errors, deterministic firing) and the HTTP control API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from spyops.common import metrics_text
from spyops.gatewaysim.scenario import InjectAnomaly, Restart, ScenarioError, load_scenario, parse_scenario
from spyops.gatewaysim.server import GatewayServer, ServerSettings
from spyops.schemas import AnomalyKind, OptionRight
from tests.gatewaysim.chain_source import ScriptedChain

SCENARIO = """\
seed: 11
session_date: 2026-11-20
start: "10:00:00"
speed: 2
events:
  - at: "10:00:01.5"
    action: pause_market_data
  - at: "10:00:00.5"
    action: inject_anomaly
    kind: parity
    strike: 590
    right: C
    duration_seconds: 30
  - at: 10:00:02
    action: resume_market_data
  - at: "10:00:03"
    action: connectivity_lost
  - at: "10:00:04"
    action: connectivity_restored
    data_lost: true
"""


def test_scenario_parses_settings_and_orders_events_by_time() -> None:
    scenario = parse_scenario(SCENARIO)
    assert scenario.settings.seed == 11
    assert scenario.settings.session_date == dt.date(2026, 11, 20)
    assert scenario.settings.speed == 2
    assert [e.action for e in scenario.events] == [
        "inject_anomaly",
        "pause_market_data",
        "resume_market_data",
        "connectivity_lost",
        "connectivity_restored",
    ]
    first = scenario.events[0]
    assert isinstance(first, InjectAnomaly)
    assert (first.kind, first.strike, first.right) == (AnomalyKind.PARITY, 590, OptionRight.CALL)
    assert scenario.events[2].at == dt.time(10, 0, 2)  # unquoted YAML sexagesimal time


def test_scenario_errors_name_the_line_and_field(tmp_path: Path) -> None:
    bad = "events:\n  - at: '10:00:00'\n    action: drop_connections\n  - at: '10:01:00'\n    action: inject_anomaly\n    kind: nonsense\n"
    with pytest.raises(ScenarioError, match=r"<scenario>:4: event 2: .*kind"):
        parse_scenario(bad)
    with pytest.raises(ScenarioError, match="action"):
        parse_scenario("events:\n  - at: '10:00:00'\n    action: explode\n")
    with pytest.raises(ScenarioError, match="speed"):
        parse_scenario("speed: -1\n")
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")
    restart = parse_scenario("events:\n  - {at: '10:00:00', action: restart}\n").events[0]
    assert isinstance(restart, Restart)
    assert restart.downtime_seconds == 2.0


def test_scenario_events_fire_at_their_session_times_deterministically() -> None:
    def run() -> list[tuple[str, str]]:
        chain = ScriptedChain()
        server = GatewayServer(
            chain, settings=ServerSettings(port=0, control_port=0), scenario=parse_scenario(SCENARIO)
        )
        states = []
        start = chain.now
        for seconds in (1.0, 1.8, 2.0, 3.5, 4.0):
            server.step_until(start + dt.timedelta(seconds=seconds))
            gateway = server.gateway
            states.append(
                (chain.now.time().isoformat(), f"{gateway.market_data_paused}/{gateway.connectivity_ok}")
            )
        assert chain.injected == [(AnomalyKind.PARITY, 590.0, OptionRight.CALL)]
        return states

    first = run()
    assert first == run()
    # An event at time T fires before the model steps to T.
    assert first == [
        ("10:00:01", "False/True"),
        ("10:00:01.800000", "True/True"),
        ("10:00:02", "False/True"),
        ("10:00:03.500000", "False/False"),
        ("10:00:04", "False/True"),
    ]


async def test_control_api_reads_state_and_validates_input(
    server: GatewayServer, chain: ScriptedChain
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.control_port}") as control:
        assert (await control.get("/health")).json()["status"] == "ok"
        assert (await control.get("/ready")).status_code == 200
        metrics = await control.get("/metrics")
        assert "gatewaysim_connected_clients" in metrics_text.names(metrics.text)
        state = (await control.get("/state")).json()
        assert state["underlying"] == "SPY"
        assert state["marketDataLineBudget"] == 100
        response = await control.post(
            "/anomalies", json={"kind": "crossed_quote", "strike": 595, "right": "P"}
        )
        assert response.status_code == 201
        assert chain.injected == [(AnomalyKind.CROSSED_QUOTE, 595.0, OptionRight.PUT)]
        bad = await control.post("/anomalies", json={"kind": "bogus"})
        assert bad.status_code == 400
        assert bad.json()["problems"][0]["field"] == "kind"
        not_json = await control.post("/restart", content=b"{oops")
        assert not_json.status_code == 400
        assert "not JSON" in not_json.json()["error"]
        assert (await control.post("/market-data/pause")).json() == {"marketDataPaused": True}
        assert (await control.get("/state")).json()["marketDataPaused"] is True
        assert (await control.post("/market-data/resume")).json() == {"marketDataPaused": False}
        assert (await control.get("/clients")).json() == []
        assert (await control.get("/orders")).json() == []
        assert (await control.get("/account")).json()["values"]["NetLiquidation"] == 1_000_000.0


def test_shipped_scenarios_are_valid() -> None:
    from spyops.gatewaysim.scenario import BUILTIN_DIR, builtin_names, resolve_scenario

    assert {"calm", "anomalies", "demo-day"} <= set(builtin_names())
    for name in builtin_names():
        assert resolve_scenario(name) == BUILTIN_DIR / f"{name}.yaml"
        load_scenario(resolve_scenario(name))  # valid
    assert load_scenario(resolve_scenario("demo-day")).events
    assert load_scenario(resolve_scenario("calm")).settings.anomalies_per_minute == 0
    assert (load_scenario(resolve_scenario("anomalies")).settings.anomalies_per_minute or 0) > 0


def test_shipped_demo_scenario_replays_against_the_real_model() -> None:
    from spyops.gatewaysim.model_source import build_model_source

    path = (
        Path(__file__).parents[2]
        / "workloads"
        / "gateway-sim"
        / "spyops"
        / "gatewaysim"
        / "scenarios"
        / "demo-day.yaml"
    )
    scenario = load_scenario(path)
    seed, session_date, start = (
        scenario.settings.seed,
        scenario.settings.session_date,
        scenario.settings.start,
    )
    assert seed is not None
    assert session_date is not None
    assert start is not None

    def replay() -> list[dict[str, object]]:
        source = build_model_source(seed, session_date, start)
        server = GatewayServer(source, settings=ServerSettings(port=0, control_port=0), scenario=scenario)
        target = source.now + dt.timedelta(minutes=2, seconds=5)
        while source.now + dt.timedelta(seconds=0.1) <= target:
            server.step_until(target)
        return server.events_fired

    fired = replay()
    assert [e["action"] for e in fired][:4] == ["inject_anomaly"] * 3 + ["connectivity_lost"]
    assert all("injected" in e for e in fired if e["action"] == "inject_anomaly")
    assert fired == replay()  # same seed and scenario, same day


def test_cli_refuses_a_bad_scenario_with_its_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spyops.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "events:\n  - at: '10:00:00'\n    action: inject_anomaly\n    kind: nope\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["gateway-sim", "--scenario", str(bad), "--port", "0"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2
    assert "bad.yaml:2: event 1" in result.output
