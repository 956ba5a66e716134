"""`spyops demo --node real` (what `make demo` runs where containers can run): the operator's pods are real
containers on the real node (`kubectl get pods` shows them, `kubectl logs` works), they trade and report to
the local backend, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.common.polling import wait_for
from tests.demo.test_demo_e2e import demo_state, free_port_base, recorded_processes, stop_demo

pytestmark = [
    pytest.mark.realnode,
    pytest.mark.embedded_only("`spyops demo` starts its own embedded control plane"),
    pytest.mark.timeout(900),
]


def test_demo_runs_the_pods_on_the_real_node(tmp_path: Path) -> None:
    ports = free_port_base()
    state_dir = tmp_path / "state"
    output = tmp_path / "demo-output.log"
    with output.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "spyops", "demo", "--node", "real", "--headless", "--duration", "600",
             "--port-base", str(ports.base), "--state-dir", str(state_dir)],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        state = wait_for("the demo to be up", lambda: demo_state(state_dir, demo), 600, interval=2)
        text = output.read_text(errors="replace")
        assert text.splitlines()[0].startswith("pods: real containers on the real node"), text[:500]
        kubeconfig = Path(state["kubeconfig"])
        pods = json.loads(run_kubectl(kubeconfig, "get", "pods", "-n", "default", "-o", "json").stdout)[
            "items"
        ]
        components = sorted(p["metadata"]["labels"].get("app.kubernetes.io/component", "") for p in pods)
        assert components == ["bot", "bot", "bot", "detector", "gateway"], components
        assert {p["spec"]["nodeName"] for p in pods} == {"spyops-node"}
        assert all(p["status"]["phase"] == "Running" for p in pods)
        detector = next(
            p for p in pods if p["metadata"]["labels"]["app.kubernetes.io/component"] == "detector"
        )
        logs = run_kubectl(
            kubeconfig, "logs", "-n", "default", detector["metadata"]["name"], "--tail=20"
        ).stdout
        assert any(line.startswith("{") for line in logs.splitlines()), logs[:500]
        # No local process stands in for a pod; the pods reach the backend on the host.
        names = {p["name"] for p in recorded_processes(state_dir)}
        assert not names & {"gateway-sim", "detector-0", "bot-0"}, names
        signals = wait_for(
            "a signal at the backend, sent by the detector's pod",
            lambda: httpx.get(f"http://127.0.0.1:{ports.backend}/v1/signals?limit=1", timeout=10).json()[
                "items"
            ],
            300,
            interval=3,
        )
        assert signals
        orders = wait_for(
            "an order at the simulator, placed by a bot pod (through the port-forward)",
            lambda: httpx.get(f"http://127.0.0.1:{ports.gateway_control}/orders", timeout=10).json(),
            300,
            interval=3,
        )
        assert orders
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=180) == 0, output.read_text(errors="replace")[-3000:]
        text = output.read_text(errors="replace")
        assert "nothing it started is left running" in text
        assert "left behind" not in text, text[-2000:]
    finally:
        stop_demo(demo, state_dir, timeout=180)
