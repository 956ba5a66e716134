"""`spyops bot` refuses a bad config or fault-injection spec with a message that names the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_bot(config: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "spyops", "bot", "--standalone", "--config", str(config),
            "--journal", str(tmp_path / "j.sqlite"), "--probe-host", "127.0.0.1", "--probe-port", "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )  # fmt: skip


def test_invalid_config_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"strategy": "demo/spy", "lease_name": "x", "gateway": {"host": "h", "port": 0}})
    )
    result = run_bot(config, tmp_path)
    assert result.returncode != 0
    assert "gateway.port" in result.stderr


def test_config_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n  "strategy": "demo/spy",\n  oops\n}')
    result = run_bot(config, tmp_path)
    assert result.returncode != 0
    assert "line 3" in result.stderr


def test_unknown_fault_injection_point_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "strategy": "demo/spy",
                "lease_name": "x",
                "gateway": {"host": "127.0.0.1", "port": 9},
                "detector_stream_url": "http://127.0.0.1:9",
            }
        )
    )
    result = run_bot(config, tmp_path, SPYOPS_BOT_CRASH_AT="somewhere")
    assert result.returncode != 0
    assert "SPYOPS_BOT_CRASH_AT" in result.stderr
