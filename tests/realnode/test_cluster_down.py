"""`spyops cluster up --node real` then `down` leaves the machine as it found it: no process, mount,
cgroup, link or iptables chain of the node, even after pods with volumes ran on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.node.leftovers import new_since, snapshot

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(900)]

SPYOPS = str(Path(sys.executable).parent / "spyops")

POD = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  securityContext: {runAsUser: 10001, runAsNonRoot: true}
  containers:
    - name: sleeper
      image: ghcr.io/spyops/spyops:0.1.0
      imagePullPolicy: IfNotPresent
      command: ["python", "-c", "import time; open('/data/x', 'w').write('x'); time.sleep(3600)"]
      volumeMounts: [{name: data, mountPath: /data}]
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data}
"""


def _spyops(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SPYOPS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_down_leaves_nothing_behind(tmp_path: Path) -> None:
    env = dict(os.environ, SPYOPS_STATE_DIR=str(tmp_path / "state"))
    state_dir = tmp_path / "state" / "clusters" / "downtest"
    before = snapshot(state_dir)
    up = _spyops(env, "cluster", "up", "--node", "real", "--name", "downtest")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((state_dir / "state.json").read_text())
        holder = int(state["node"]["sandbox"]["holder_pid"])
        kubeconfig = Path(state["kubeconfig"])
        run_kubectl(kubeconfig, "apply", "-f", "-", input=POD)
        run_kubectl(kubeconfig, "wait", "--for=condition=Ready", "pod/sleeper", "--timeout=120s", timeout=150)
        during = new_since(before, snapshot(state_dir))
        # The node's chains live in its own network namespace, never in the host's tables.
        assert "iptables chains" not in during, during
        assert during.get("cgroups"), "the node's cgroups exist while it runs"
    finally:
        down = _spyops(env, "cluster", "down", "--name", "downtest")
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.monotonic() + 10
    while True:
        left = new_since(before, snapshot(state_dir))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == {}, f"`spyops cluster down` left behind: {left}"
    assert not Path(f"/proc/{holder}").exists() or "\nState:\tZ" in Path(f"/proc/{holder}/status").read_text()
    assert not state_dir.exists()
