"""End to end on the running platform (`spyops demo`): Prometheus scrapes every component, a failure
fires the matching alert within its `for:` plus one evaluation, and the chart's Alertmanager config
delivers it to the local email and Telegram stand-ins with the strategy's name; then every dashboard
panel's query runs against the same Prometheus and must parse and return series."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from spyops.demo.ports import DemoPorts
from spyops.monitoring.dashboard_model import expand
from spyops.monitoring.dashboards import DASHBOARDS
from spyops.monitoring.files import RULES_FILE
from spyops.monitoring.receivers import read_records
from tests.demo.test_demo_e2e import demo_state, free_port_base, running_demo
from tests.monitoring.conftest import wait_until

# The first test includes bringing the platform up (minutes on a loaded machine).
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(1500)]

STRATEGY = "spy-0dte"
SCRAPE_SECONDS = 5  # spyops.monitoring.stack.SCRAPE_INTERVAL
# Components the demo runs, each scraped by Prometheus.
COMPONENTS = {"operator", "backend", "azure-sim", "gateway", "detector", "bot", "prometheus", "alertmanager"}


def _rule(name: str) -> tuple[dict[str, Any], float]:
    """(the alert rule, its group's evaluation interval in seconds)."""
    for group in yaml.safe_load(RULES_FILE.read_text())["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name:
                return rule, float(group["interval"].rstrip("s"))
    raise AssertionError(f"no alert {name}")


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]]


@dataclass
class Platform:
    ports: DemoPorts
    state_dir: Path
    output: Path
    prometheus: str
    records: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        reply = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=20)
        body = reply.json()
        assert reply.status_code == 200, f"{expr}: {body}"
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def control(self, url: str, body: dict[str, Any] | None = None) -> None:
        httpx.post(url, json=body or {}, timeout=10).raise_for_status()

    def firing(self, name: str) -> list[dict[str, Any]]:
        alerts = httpx.get(f"{self.prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]

    def notifications(self, receiver: str, *needles: str) -> list[dict[str, Any]]:
        return [
            r
            for r in read_records(self.records)
            if r["receiver"] == receiver
            and all(n in r.get("subject", "") + r.get("text", "") for n in needles)
        ]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    base = tmp_path_factory.mktemp("demo-monitoring")
    state_dir = base / "state"
    scenario = base / "scenario.yaml"
    scenario.write_text("steps:\n  - {at: 2s, do: inject, kind: butterfly, duration_seconds: 10}\n")
    ports = free_port_base()
    with running_demo(state_dir, ports, scenario) as demo:
        state = wait_until("the demo to be up", lambda: demo_state(state_dir, demo), 900, interval=2)
        assert isinstance(state, dict)
        yield Platform(
            ports,
            state_dir,
            base / "demo-output.log",
            state["prometheusUrl"],
            Path(state["notifications"]),
        )


def test_every_component_is_scraped(platform: Platform) -> None:
    def targets() -> list[dict[str, Any]] | None:
        active = httpx.get(f"{platform.prometheus}/api/v1/targets", timeout=10).json()["data"][
            "activeTargets"
        ]
        return active if active and all(t["health"] == "up" for t in active) else None

    active = wait_until("every target up", targets, 60, interval=2)
    assert isinstance(active, list)
    assert {t["labels"]["component"] for t in active} == COMPONENTS
    bots = [t for t in active if t["labels"]["component"] == "bot"]
    assert len(bots) == 3
    assert all(t["labels"]["strategy"] == STRATEGY for t in bots)
    up = platform.query("up")
    assert len(up) == len(active)
    assert all(float(s["value"][1]) == 1 for s in up)


def test_gateway_disconnect_fires_and_reaches_email_and_telegram(platform: Platform) -> None:
    rule, evaluation = _rule("SpyopsIBKRDisconnected")
    hold = _seconds(rule["for"])
    gateway = f"http://127.0.0.1:{platform.ports.gateway_control}"
    assert platform.firing("SpyopsIBKRDisconnected") == []
    started = time.time()
    platform.control(f"{gateway}/connectivity/lost")  # IB's 1100 to every client
    try:
        firing = wait_until(
            "SpyopsIBKRDisconnected to fire",
            lambda: platform.firing("SpyopsIBKRDisconnected"),
            hold + 4 * evaluation + 60,
        )
        fired = time.time() - started
        assert isinstance(firing, list)
        assert {a["labels"]["strategy"] for a in firing} == {STRATEGY}
        assert {a["labels"]["component"] for a in firing} >= {"bot", "detector"}
        # Visible at the next scrape, pending at the next evaluation, firing `for:` later at an evaluation.
        assert fired <= SCRAPE_SECONDS + evaluation + hold + evaluation + 10, f"fired after {fired:.0f}s"
        telegram = wait_until(
            "the Telegram message",
            lambda: platform.notifications("telegram", "SpyopsIBKRDisconnected", STRATEGY),
            60,
        )
        mail = wait_until(
            "the email", lambda: platform.notifications("email", "SpyopsIBKRDisconnected", STRATEGY), 60
        )
        notified = time.time() - started
        assert isinstance(telegram, list)
        assert isinstance(mail, list)
        assert "[FIRING:" in mail[0]["subject"]
        assert f"strategy: <code>{STRATEGY}</code>" in telegram[0]["text"]
        print(
            json.dumps(
                {"failure_to_firing_s": round(fired, 1), "failure_to_notification_s": round(notified, 1)}
            )
        )
    finally:
        platform.control(f"{gateway}/connectivity/restored", {"data_lost": False})
    # Resolved notifications follow (send_resolved), and the demo printed what arrived.
    wait_until(
        "the resolved Telegram message",
        lambda: platform.notifications("telegram", "[RESOLVED]", "SpyopsIBKRDisconnected"),
        hold + 120,
        interval=2,
    )
    output = platform.output.read_text(errors="replace")
    assert "notification: Telegram chat" in output
    assert "notification: email to oncall@spyops.local: [FIRING:" in output


def test_every_dashboard_query_returns_series_on_the_running_platform(platform: Platform) -> None:
    # The VPN dashboard's failover panel needs a failover: take the link down until the controller acts.
    azure = f"http://127.0.0.1:{platform.ports.azure_control}/control/connection"
    platform.control(azure, {"status": "NotConnected"})
    try:
        # increase() needs two samples of the new counter: wait for the panel's own query to answer.
        failovers = "increase(spyops_vpnlink_failovers_total[1h])"
        wait_until("a failover action, scraped twice", lambda: platform.query(failovers), 240, interval=3)
        orders = "rate(spyops_bot_orders_total[1m])"
        wait_until("an order, scraped twice", lambda: platform.query(orders), 240, interval=3)
    finally:
        platform.control(azure, {"status": "Connected"})
    empty: list[str] = []
    checked = 0
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            for query in panel.queries:
                checked += 1
                if not platform.query(expand(query.expr)):
                    empty.append(f"{dashboard.uid} / {panel.title}: {query.expr}")
        for variable in dashboard.variables:
            assert platform.query(expand(variable.metric)), f"{dashboard.uid}: variable {variable.name}"
    assert empty == [], "queries without series:\n" + "\n".join(empty)
    assert checked >= 40
