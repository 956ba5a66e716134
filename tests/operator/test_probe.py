"""`spyops gateway-probe` fails (exit 1, a JSON reason) when no TWS handshake completes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading


def run_probe(port: int) -> subprocess.CompletedProcess[str]:
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
    result = run_probe(port)
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
        result = run_probe(port)
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert result.returncode == 1
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"] is False
