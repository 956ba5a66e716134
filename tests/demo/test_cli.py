"""`spyops demo` refuses bad input before it starts anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from spyops.demo.ports import PORT_SPAN, DemoPorts


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyops", "demo", *args], capture_output=True, text=True, timeout=120
    )


def test_port_in_use_is_named_with_the_option(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        base = busy - 1  # the API server's port is busy
        result = run_demo("--port-base", str(base), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 2
    # Another of the span's ports may be busy too on a shared machine: then both are listed.
    assert f"{busy} (kube-apiserver)" in result.stderr
    assert "on 127.0.0.1" in result.stderr
    assert "--port-base N" in result.stderr
    assert not (tmp_path / "state").exists()  # nothing was started or written


def test_bad_scenario_is_refused_with_line_and_field(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("steps:\n  - {at: 10s, do: inject, kind: butterfly}\n  - {at: 20s, do: warp}\n")
    result = run_demo("--scenario", str(scenario), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 2
    assert "s.yaml:3: step 2: do: unknown action 'warp'" in " ".join(result.stderr.split())
    assert not (tmp_path / "state").exists()


def test_port_span_matches_what_is_checked() -> None:
    ports = DemoPorts(20000)
    assert max(port for _, port in ports.named(bot_replicas=10)) < ports.base + PORT_SPAN
