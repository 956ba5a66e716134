"""Timelines (pure, with an injected clock) and the `spyops azure-sim` process."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from spyops.azuresim.commands import ControlCommand, FaultSpec, Operation
from spyops.azuresim.scenario import ScenarioError, load_scenario, parse_scenario
from spyops.azuresim.state import LinkSimulation, SimConfig

TIMELINE = """
steps:
  - at: 0
    connection: {status: Connected}
  - at: 10
    connection: {status: NotConnected}
    resetBehavior: {target: connection, result: succeed, polls: 2, restoreAfterSeconds: 5}
  - at: 20
    fault: {status: 429, count: 2, retryAfter: 3, operations: [getConnection]}
  - at: 30
    connection:
      tunnels: [{name: tunnel-0, status: NotConnected}]
"""


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_timeline_applies_steps_when_due() -> None:
    clock = FakeClock()
    sim = LinkSimulation(SimConfig(), clock=clock)
    sim.start_scenario(parse_scenario(TIMELINE))
    assert sim.connection_status == "Connected"
    clock.t += 9.9
    sim.advance()
    assert sim.connection_status == "Connected"
    clock.t += 0.2
    sim.advance()
    assert sim.connection_status == "NotConnected"
    assert sim.reset_behavior["connection"].polls == 2
    # a reset now: two InProgress polls, then Succeeded, Connecting, Connected 5 s later
    op = sim.start_reset("connection")
    assert not sim.poll_operation(op.op_id).finished  # type: ignore[union-attr]
    assert not sim.poll_operation(op.op_id).finished  # type: ignore[union-attr]
    done = sim.poll_operation(op.op_id)
    assert done is not None
    assert done.finished
    assert done.succeeded
    assert sim.connection_status == "Connecting"
    clock.t += 5
    sim.advance()
    assert sim.connection_status == "Connected"
    clock.t = 1020.0
    sim.advance()
    assert sim.take_fault(Operation.GET_GATEWAY) is None
    first = sim.take_fault(Operation.GET_CONNECTION)
    assert first is not None
    assert first.status == 429
    assert first.retry_after == 3
    assert sim.take_fault(Operation.GET_CONNECTION) is not None
    assert sim.take_fault(Operation.GET_CONNECTION) is None
    clock.t = 1030.0
    sim.advance()
    assert [t.status.value for t in sim.tunnels] == ["NotConnected", "Connected"]
    assert sim.connection_status == "Connected"


def test_faults_without_operations_spare_token_requests() -> None:
    sim = LinkSimulation(SimConfig())
    sim.apply(ControlCommand(fault=FaultSpec(status=503, count=1)))
    assert sim.take_fault(Operation.TOKEN) is None
    assert sim.take_fault(Operation.GET_GATEWAY) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps: [{at: 1, connection: {status: Up}}]", "steps.0.connection.status"),
        ("steps: [{at: 5}, {at: 1}]", "ordered by `at`"),
        ("steps: [{at: 1, fault: {count: 1}}]", "steps.0.fault"),
        ("steps:\n  - at: 1\n    connection: [unclosed", "line 3"),
        ("steps: []", "steps"),
        ("steps: [{at: 1, surprise: true}]", "steps.0.surprise"),
    ],
)
def test_bad_timelines_name_the_problem(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError, match=r"x\.yaml") as info:
        parse_scenario(text, "x.yaml")
    assert expected in str(info.value)


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    scenario = tmp_path / "timeline.yaml"
    scenario.write_text(TIMELINE, encoding="utf-8")
    state_dir = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spyops",
            "azure-sim",
            "--state-dir",
            str(state_dir),
            "--scenario",
            str(scenario),
            "--tls-name",
            "azure-sim.spyops-system.svc",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        endpoints_file = state_dir / "endpoints.json"
        deadline = time.monotonic() + 60
        while not endpoints_file.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "azure-sim did not write endpoints.json in time"
            time.sleep(0.1)
        time.sleep(0.2)
        endpoints = json.loads(endpoints_file.read_text())
        credentials = json.loads((state_dir / "credentials.json").read_text())
        assert (state_dir / "credentials.json").stat().st_mode & 0o077 == 0
        assert "clientSecret" not in endpoints
        cert = x509.load_pem_x509_certificate((state_dir / "tls" / "server.pem").read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "azure-sim.spyops-system.svc" in names.get_values_for_type(x509.DNSName)
        tls = ssl.create_default_context(cafile=endpoints["caCert"])
        with httpx.Client(timeout=10) as http:
            assert http.get(endpoints["controlUrl"] + "/health").status_code == 200
            token = http.get(
                endpoints["identityEndpoint"],
                params={"api-version": "2019-08-01", "resource": endpoints["armUrl"]},
                headers={"X-IDENTITY-HEADER": credentials["identityHeader"], "Metadata": "true"},
            ).json()["access_token"]
        path = (
            f"/subscriptions/{endpoints['subscriptionId']}/resourceGroups/{endpoints['resourceGroup']}"
            f"/providers/Microsoft.Network/connections/{endpoints['connectionName']}"
        )
        with httpx.Client(timeout=10, verify=tls) as https:
            conn = https.get(
                endpoints["armUrl"] + path,
                params={"api-version": "2026-03-01"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert conn.status_code == 200
        assert conn.json()["properties"]["connectionStatus"] == "Connected"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert any(entry["msg"] == "azure-sim listening" for entry in lines)
    assert credentials["clientSecret"] not in stderr.decode()
    assert token not in stderr.decode()


@pytest.mark.parametrize("name", ["link-outage.yaml", "tunnel-flaps.yaml"])
def test_shipped_scenarios_are_valid(name: str) -> None:
    import spyops.azuresim

    path = Path(spyops.azuresim.__file__).parent / "scenarios" / name
    scenario = load_scenario(path)
    assert scenario.steps
