"""`spyops gateway-probe`: exit 0 with the server version after a real TWS handshake with the
gateway simulator; exit 1 with a JSON reason when no handshake completes; and what it remembers
between runs to fill the gateway's status (serverVersion, lastRestart)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spyops.gatewaysim.server import GatewayServer
from spyops.operator import probe_status
from spyops.operator.probe_status import ProbeMemory, after_failure, after_success
from tests.operator.probe_support import run_probe, running_simulator


def run_probe_sync(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyops", "gateway-probe", "--port", str(port), "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_refused_connection_fails() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_probe_sync(port)
    assert result.returncode == 1
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is False
    assert "Refused" in report["error"]


def test_tcp_accept_without_handshake_fails() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept_and_hold() -> None:
        server.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)  # accepts TCP but never speaks the TWS protocol
            except TimeoutError:
                continue
        for conn in held:
            conn.close()

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    try:
        result = run_probe_sync(port)
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert result.returncode == 1
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"] is False


@pytest.fixture
async def simulator() -> AsyncIterator[GatewayServer]:
    async with running_simulator() as server:
        yield server


async def test_handshake_with_the_simulator_succeeds(simulator: GatewayServer) -> None:
    code, report = await run_probe(simulator.port, "--client-id", "9999")
    assert code == 0, report
    assert report == {"ok": True, "endpoint": f"127.0.0.1:{simulator.port}", "serverVersion": 178}
    # ib_async's connect returns only after the API start (nextValidId, accounts, positions, open
    # orders...); then the probe lets go of the connection and its client id.
    await asyncio.sleep(0.2)
    assert 9999 not in simulator.gateway.clients


async def test_a_second_probe_with_the_same_client_id_fails_while_the_first_holds_it(
    simulator: GatewayServer,
) -> None:
    from ib_async import IB

    holder = IB()
    await holder.connectAsync("127.0.0.1", simulator.port, clientId=9999, timeout=10)
    try:
        code, report = await run_probe(simulator.port, "--client-id", "9999", "--timeout", "3")
    finally:
        holder.disconnect()
    assert code == 1
    assert report["ok"] is False


NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
GAP = dt.timedelta(seconds=75)


def test_first_success_is_a_restart_and_is_reported() -> None:
    memory, patch = after_success(ProbeMemory(), NOW, 178, GAP)
    assert patch == {"status": {"serverVersion": 178, "lastRestart": "2026-11-20T15:00:00Z"}}
    assert memory.last_restart == NOW


def test_steady_successes_write_nothing_new() -> None:
    memory, _ = after_success(ProbeMemory(), NOW, 178, GAP)
    memory = probe_status.after_report(memory)
    later, patch = after_success(memory, NOW + dt.timedelta(seconds=30), 178, GAP)
    assert patch is None
    assert later.last_restart == NOW


def test_success_after_a_failure_is_a_restart() -> None:
    memory, _ = after_success(ProbeMemory(), NOW, 178, GAP)
    memory = after_failure(probe_status.after_report(memory), NOW + dt.timedelta(seconds=30))
    back = NOW + dt.timedelta(seconds=60)
    _, patch = after_success(memory, back, 178, GAP)
    assert patch == {"status": {"serverVersion": 178, "lastRestart": "2026-11-20T15:01:00Z"}}


def test_a_long_silence_is_a_restart_and_a_new_version_is_reported() -> None:
    memory, _ = after_success(ProbeMemory(), NOW, 176, GAP)
    memory = probe_status.after_report(memory)
    _, patch = after_success(memory, NOW + dt.timedelta(seconds=30), 178, GAP)
    assert patch == {"status": {"serverVersion": 178, "lastRestart": "2026-11-20T15:00:00Z"}}
    _, patch = after_success(memory, NOW + dt.timedelta(seconds=300), 176, GAP)
    assert patch is not None
    assert patch["status"]["lastRestart"] == "2026-11-20T15:05:00Z"


def test_an_unreported_patch_is_sent_again() -> None:
    memory, _ = after_success(ProbeMemory(), NOW, 178, GAP)  # the write failed: not marked reported
    _, patch = after_success(memory, NOW + dt.timedelta(seconds=30), 178, GAP)
    assert patch == {"status": {"serverVersion": 178, "lastRestart": "2026-11-20T15:00:00Z"}}


def test_memory_survives_a_round_trip_and_a_broken_file_means_a_new_pod(tmp_path: Path) -> None:
    path = tmp_path / "probe.json"
    memory, _ = after_success(ProbeMemory(), NOW, 178, GAP)
    probe_status.save(path, memory)
    assert probe_status.load(path) == memory
    path.write_text("{not json")
    assert probe_status.load(path) == ProbeMemory()
    assert probe_status.load(tmp_path / "missing.json") == ProbeMemory()


async def test_an_unwritable_state_file_is_reported_not_fatal(
    simulator: GatewayServer, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be")
    code, report = await run_probe(
        simulator.port, "--gateway", "paper", "--kubeconfig", str(tmp_path / "missing-kubeconfig"),
        "--state-file", str(blocked / "probe.json"),
    )  # fmt: skip
    assert code == 0  # readiness is about the gateway
    assert report["serverVersion"] == 178
    assert "cannot write" in report["stateError"]
    assert "statusError" in report  # no kubeconfig there: the write failed and says so
