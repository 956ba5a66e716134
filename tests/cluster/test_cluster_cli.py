"""`spyops cluster up | status | env | down` as a person runs them, including the mistakes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyops.cluster.kubectl import run_kubectl

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.embedded_only("tests `spyops cluster`, which starts embedded control planes of its own"),
]


def _spyops(state_root: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SPYOPS_STATE_DIR=str(state_root))
    return subprocess.run(
        [sys.executable, "-m", "spyops", "cluster", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def state_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "state"
    yield root
    # whatever happened in the test, nothing it started may outlive it
    _spyops(root, "down", "--name", "cli")


def test_up_status_env_down_lifecycle(state_root: Path) -> None:
    up = _spyops(state_root, "up", "--name", "cli")
    assert up.returncode == 0, up.stderr
    assert "export KUBECONFIG=" in up.stdout
    kubeconfig = Path(up.stdout.split("export KUBECONFIG=")[1].split()[0])
    assert kubeconfig.is_file()

    nodes = run_kubectl(kubeconfig, "get", "nodes", "-o", "name")
    assert nodes.stdout.strip() == "node/kwok-node-0"

    status = _spyops(state_root, "status", "--name", "cli")
    assert status.returncode == 0, status.stdout + status.stderr
    components = (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "local-path-provisioner",
    )
    for component in components:
        assert component in status.stdout
    assert "NOT RUNNING" not in status.stdout

    env = _spyops(state_root, "env", "--name", "cli")
    assert env.stdout.strip() == f"export KUBECONFIG={kubeconfig}"

    twice = _spyops(state_root, "up", "--name", "cli")
    assert twice.returncode == 1
    assert "already running" in twice.stderr
    assert "Traceback" not in twice.stderr

    pids = [int(line.split("pid")[1].split()[0]) for line in status.stdout.splitlines() if " pid " in line]
    assert len(pids) == len(components)
    down = _spyops(state_root, "down", "--name", "cli")
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"process {pid} outlived `down`"
    assert not (state_root / "clusters" / "cli").exists()

    again = _spyops(state_root, "down", "--name", "cli")
    assert again.returncode == 0
    assert "not running" in again.stdout
    gone = _spyops(state_root, "status", "--name", "cli")
    assert gone.returncode == 1
    assert "not running" in gone.stdout


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_port_already_in_use_is_a_clear_error(state_root: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = _spyops(state_root, "up", "--name", "cli", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port}" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (state_root / "clusters" / "cli").exists()


def test_env_without_a_cluster_says_how_to_start_one(state_root: Path) -> None:
    result = _spyops(state_root, "env", "--name", "cli")
    assert result.returncode == 1
    assert "spyops cluster up" in result.stderr
