"""`spyops demo` end to end, headless and bounded: anomalies are detected and shown on the dashboard
(real Chromium), traded at the gateway by the leader bot and shown as fills on the dashboard, the
strategy's and the link's status are reported in Kubernetes, and after SIGINT no process the demo
started is left."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.common.polling import wait_for
from spyops.demo.ports import PORT_SPAN, DemoPorts, PortInUseError, check_ports_free
from spyops.demo.supervisor import pid_alive

REPO = Path(__file__).resolve().parents[2]
NODE_TOOLS = REPO / "tools" / "node"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DURATION = 600  # the demo stops by itself after this even if the test dies without cleaning up
SCENARIO = """\
steps:
  - {at: 2s, do: inject, kind: butterfly, duration_seconds: 10}
  - {at: 15s, do: inject, kind: parity, duration_seconds: 10}
  - {at: 30s, do: inject, kind: vertical_spread, duration_seconds: 10}
  - {at: 45s, do: inject, kind: crossed_quote, duration_seconds: 8}
"""

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.embedded_only("`spyops demo` starts its own embedded control plane"),
]


def free_port_base() -> DemoPorts:
    for _ in range(200):
        ports = DemoPorts(random.randrange(20000, 30000 - PORT_SPAN))
        with contextlib.suppress(PortInUseError):
            check_ports_free(ports, bot_replicas=10)
            return ports
    raise AssertionError(f"no {PORT_SPAN} consecutive free ports between 20000 and 30000")


@contextlib.contextmanager
def running_demo(state_dir: Path, ports: DemoPorts, scenario: Path) -> Iterator[subprocess.Popen[bytes]]:
    output = state_dir.parent / "demo-output.log"
    with output.open("wb") as sink:
        demo = subprocess.Popen(
            [
                sys.executable, "-m", "spyops", "demo",
                "--headless",
                "--duration", str(DURATION),
                "--port-base", str(ports.base),
                "--state-dir", str(state_dir),
                "--scenario", str(scenario),
                "--anomalies-per-minute", "6",
                # The local-process path, whatever this machine can run (tests/realnode/test_demo_realnode.py
                # runs the demo's pods on the real node).
                "--node", "kwok",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        yield demo
    finally:
        stop_demo(demo, state_dir)


def stop_demo(demo: subprocess.Popen[bytes], state_dir: Path, timeout: float = 120) -> None:
    """Ctrl-C, then SIGKILL; and whatever happened, leave nothing behind for the next test."""
    if demo.poll() is None:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(timeout=30)
    for record in recorded_processes(state_dir):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record["pid"], signal.SIGKILL)


def recorded_processes(state_dir: Path) -> list[dict[str, Any]]:
    state = state_dir / "demo.json"
    if not state.exists():
        return []
    processes: list[dict[str, Any]] = json.loads(state.read_text())["processes"]
    return processes


def demo_state(state_dir: Path, demo: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    output = (state_dir.parent / "demo-output.log").read_text(errors="replace")
    assert demo.poll() is None, f"the demo exited with {demo.returncode}:\n{output[-6000:]}"
    path = state_dir / "demo.json"
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state if state.get("up") else None


def get(kubeconfig: Path, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_kubectl(kubeconfig, "get", *args, "-o", "json").stdout)
    return result


def test_demo_detects_trades_reports_and_leaves_nothing_behind(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run `make chromium`"
    assert (NODE_TOOLS / "node_modules" / "playwright-core").exists(), "run `make node-tools`"
    node = shutil.which("node")
    assert node, "node is missing"
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    state_dir = tmp_path / "state"
    ports = free_port_base()
    with running_demo(state_dir, ports, scenario) as demo:
        state = wait_for("the demo to be up", lambda: demo_state(state_dir, demo), timeout=420, interval=2)
        kubeconfig = Path(state["kubeconfig"])
        assert state["dashboardUrl"] == f"http://127.0.0.1:{ports.backend}/dashboard/"
        output = (tmp_path / "demo-output.log").read_text()
        assert f"export KUBECONFIG={kubeconfig}" in output
        assert "Local processes (no container runtime here" in output
        assert "NOT RUNNING" not in output, output

        # The dashboard, in Chromium, shows a signal, an order and a fill with its commission that
        # went through the platform.
        browser = subprocess.run(
            [node, str(Path(__file__).with_name("demo_dashboard.cjs"))],
            env={
                **os.environ,
                "DASHBOARD_URL": state["dashboardUrl"],
                "ARTIFACTS": str(ARTIFACTS),
                "NODE_TOOLS": str(NODE_TOOLS),
                "CHROMIUM": str(CHROMIUM),
                "WAIT_MS": "180000",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = browser.stdout.strip().splitlines()
        assert lines, f"the browser script printed nothing; stderr:\n{browser.stderr[-3000:]}"
        result = json.loads(lines[-1])
        assert result["ok"], f"dashboard check failed: {result}\nstderr:\n{browser.stderr[-3000:]}"
        assert result["signals"] >= 1
        assert result["fills"] >= 1
        assert result["orders"] >= 1  # the bot's order updates, and a fill's commission (steps)
        assert result["steps"][-2:] == ["order", "commission"]

        # The leader traded them: executions at the gateway carry the bot's orderRefs.
        def executions() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = httpx.get(
                f"http://127.0.0.1:{ports.gateway_control}/executions", timeout=10
            ).json()
            return [e for e in found if e.get("orderRef")] or None

        traded = wait_for("an execution of a bot order at the gateway", executions, timeout=120)
        assert len(traded) >= 1

        # The trading bot's leader reported orders and P&L on the TradingStrategy.
        def strategy_status() -> dict[str, Any] | None:
            status: dict[str, Any] = get(kubeconfig, "tradingstrategy", "spy-0dte", "-n", "default").get(
                "status", {}
            )
            return status if (status.get("ordersToday") or 0) >= 1 and "realizedPnl" in status else None

        status = wait_for("ordersToday >= 1 and realizedPnl on the strategy", strategy_status, timeout=120)
        assert status["leader"].startswith("spy-0dte-bot-"), status
        pods = {p["metadata"]["name"] for p in get(kubeconfig, "pods", "-n", "default")["items"]}
        assert status["leader"] in pods, "the Lease holder must be one of the bot Deployment's pods"

        # The VpnLink controller reported the Azure connection (served by azure-sim).
        def link_status() -> dict[str, Any] | None:
            link: dict[str, Any] = get(kubeconfig, "vpnlink", "azure-edge", "-n", "default").get("status", {})
            return link if link.get("health") and (link.get("azure") or {}).get("connectionStatus") else None

        link = wait_for("the VpnLink's status", link_status, timeout=120)
        assert link["azure"]["connectionStatus"] == "Connected", link

        processes = recorded_processes(state_dir)
        names = {p["name"] for p in processes}
        assert {"operator", "backend", "azure-sim", "gateway-sim", "detector-0", "bot-0"} <= names, names
        assert all(pid_alive(p["pid"]) for p in processes), processes

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=120) == 0
    survivors = [p for p in processes if pid_alive(p["pid"])]
    assert not survivors, f"processes left after the demo stopped: {survivors}"
    final = (tmp_path / "demo-output.log").read_text()
    assert "demo stopped; nothing it started is left running" in final
