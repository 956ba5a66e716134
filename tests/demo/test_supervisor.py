"""The supervisor with real processes: readiness, a clear error for a dead start, and no survivors."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from spyops.cluster.controlplane import free_port
from spyops.demo.supervisor import DemoError, ProcessSpec, Supervisor, pid_alive

# A server that answers /ready and leaves a grandchild (in its process group) behind it.
SERVER = textwrap.dedent(
    """
    import http.server, subprocess, sys, pathlib
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pathlib.Path(sys.argv[2]).write_text(str(child.pid))
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a): pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def test_started_ready_and_everything_stopped_with_its_children(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, lambda _: None)
    port = free_port()
    grandchild_file = tmp_path / "grandchild.pid"
    try:
        running = supervisor.start(
            ProcessSpec(
                name="server",
                argv=(sys.executable, "-c", SERVER, str(port), str(grandchild_file)),
                ready_url=f"http://127.0.0.1:{port}/ready",
                ready_timeout=60,
            )
        )
        deadline = time.monotonic() + 30
        while not grandchild_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchild = int(grandchild_file.read_text())
        assert pid_alive(running.process.pid)
        assert pid_alive(grandchild)
        assert '"name": "server"' in supervisor.state_file.read_text()
    finally:
        supervisor.stop_all()
    assert not pid_alive(running.process.pid)
    deadline = time.monotonic() + 10
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(grandchild)


def test_a_process_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, lambda _: None)
    try:
        with pytest.raises(DemoError, match=r"(?s)broken exited with code 3 during start-up.*boom"):
            supervisor.start(
                ProcessSpec(
                    name="broken",
                    argv=(sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"),
                    ready_url=f"http://127.0.0.1:{free_port()}/ready",
                )
            )
    finally:
        supervisor.stop_all()
