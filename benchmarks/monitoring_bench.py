"""Monitoring cost and alert latency on the running platform (`spyops demo`); prints JSON.

- per component: the /metrics body (bytes, samples) and the time to fetch it, next to the same
  process's /health (or /-/healthy) fetched the same way in the same run (the HTTP floor), and
  Prometheus's own scrape_duration_seconds / scrape_samples_scraped for that target;
- failure to notification: the gateway's connectivity lost (IB 1100) to SpyopsIBKRDisconnected
  firing in Prometheus and to the Telegram and email notifications arriving, next to the delivery
  floor measured in the same run: an alert posted straight to Alertmanager to its arrival.
- the machine's load (/proc/loadavg) at the start and the end.

Usage: .venv/bin/python benchmarks/monitoring_bench.py [fetches per endpoint, default 20]
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spyops.monitoring.files import RULES_FILE
from spyops.monitoring.receivers import read_records
from tests.demo.test_demo_e2e import demo_state, free_port_base, running_demo
from tests.monitoring.conftest import wait_until

HEALTH = {"prometheus": "/-/healthy", "alertmanager": "/-/healthy"}


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def fetch_times(url: str, n: int) -> tuple[float, int]:
    """(median seconds, body bytes) of n sequential GETs on one connection."""
    times: list[float] = []
    size = 0
    with httpx.Client(timeout=10) as client:
        for _ in range(n):
            started = time.perf_counter()
            reply = client.get(url)
            times.append(time.perf_counter() - started)
            size = len(reply.content)
    return statistics.median(times), size


def scrape_costs(prometheus: str, n: int) -> list[dict[str, Any]]:
    targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    rows = []
    for target in sorted(targets, key=lambda t: (t["labels"]["component"], t["labels"].get("pod", ""))):
        labels = target["labels"]
        address = labels["instance"]
        metrics_s, size = fetch_times(target["scrapeUrl"], n)
        health_path = HEALTH.get(labels["component"], "/health")
        health_s, _ = fetch_times(f"http://{address}{health_path}", n)
        selector = f'{{instance="{address}"}}'
        prom = {
            name: float(
                httpx.get(f"{prometheus}/api/v1/query", params={"query": name + selector}, timeout=10).json()[
                    "data"
                ]["result"][0]["value"][1]
            )
            for name in ("scrape_duration_seconds", "scrape_samples_scraped")
        }
        rows.append(
            {
                "component": labels["component"],
                "pod": labels.get("pod", ""),
                "metrics_bytes": size,
                "samples": int(prom["scrape_samples_scraped"]),
                "fetch_metrics_ms_p50": round(metrics_s * 1e3, 2),
                "baseline_fetch_health_ms_p50": round(health_s * 1e3, 2),
                "prometheus_scrape_duration_ms": round(prom["scrape_duration_seconds"] * 1e3, 2),
            }
        )
    return rows


def arrival(records: Path, needle: str, since: float) -> dict[str, float]:
    """Seconds from `since` to the first Telegram and the first email containing needle."""

    def both() -> dict[str, float] | None:
        found: dict[str, float] = {}
        for r in read_records(records):
            if needle in r.get("text", "") + r.get("subject", "") and r["receiver"] not in found:
                found[r["receiver"]] = round(r["received_at"] - since, 2)
        return found if len(found) == 2 else None

    result: dict[str, float] = wait_until(f"notifications with {needle}", both, 300, interval=0.1)
    return result


def delivery_floor(alertmanager: str, records: Path) -> dict[str, float]:
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {
            "alertname": "BenchDeliveryFloor",
            "severity": "critical",
            "namespace": "bench",
            "strategy": "floor",
        },
        "annotations": {"summary": "delivery floor", "description": "posted straight to Alertmanager"},
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=5)).isoformat(),
    }
    started = time.time()
    httpx.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
    return arrival(records, "BenchDeliveryFloor", started)


def failure_to_notification(prometheus: str, gateway_control: str, records: Path) -> dict[str, Any]:
    started = time.time()
    httpx.post(f"{gateway_control}/connectivity/lost", json={}, timeout=10).raise_for_status()
    try:

        def firing() -> list[dict[str, Any]]:
            alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return [
                a
                for a in alerts
                if a["labels"]["alertname"] == "SpyopsIBKRDisconnected" and a["state"] == "firing"
            ]

        alerts = wait_until("SpyopsIBKRDisconnected firing", firing, 300, interval=0.2)
        fired = round(time.time() - started, 2)
        active_at = min(
            dt.datetime.fromisoformat(a["activeAt"].replace("Z", "+00:00")).timestamp() for a in alerts
        )
        notified = arrival(records, "SpyopsIBKRDisconnected", started)
    finally:
        httpx.post(f"{gateway_control}/connectivity/restored", json={"data_lost": False}, timeout=10)
    return {
        "failure_to_pending_s": round(active_at - started, 2),
        "failure_to_firing_s": fired,
        "failure_to_telegram_s": notified["telegram"],
        "failure_to_email_s": notified["email"],
        "rule_for_s_configured": rule_for_seconds("SpyopsIBKRDisconnected"),
    }


def rule_for_seconds(alert: str) -> float:
    """The rule's `for:` from the rule file (configuration, not a measurement)."""
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    duration = next(r["for"] for g in groups for r in g["rules"] if r.get("alert") == alert)
    return float(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    load_start = loadavg()
    with tempfile.TemporaryDirectory(prefix="spyops-monbench-") as tmp:
        state_dir = Path(tmp) / "state"
        scenario = Path(tmp) / "scenario.yaml"
        scenario.write_text("steps:\n  - {at: 2s, do: inject, kind: butterfly, duration_seconds: 10}\n")
        ports = free_port_base()
        with running_demo(state_dir, ports, scenario) as demo:
            state = wait_until("the demo to be up", lambda: demo_state(state_dir, demo), 900, interval=2)
            prometheus, records = state["prometheusUrl"], Path(state["notifications"])

            def all_up() -> bool:
                active = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
                return bool(active) and all(t["health"] == "up" for t in active)

            wait_until("every target up", all_up, 120, interval=1)
            time.sleep(20)  # a few scrapes, so scrape_duration_seconds is a steady-state one
            result = {
                "scrapes": scrape_costs(prometheus, n),
                "alert": failure_to_notification(
                    prometheus, f"http://127.0.0.1:{ports.gateway_control}", records
                ),
                "baseline_alertmanager_post_to_notification_s": delivery_floor(
                    state["alertmanagerUrl"], records
                ),
                "loadavg_start": load_start,
                "loadavg_end": loadavg(),
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
