"""Run the portable cluster tests the way a user runs them against kind or k3s.

``SPYOPS_TEST_USE_EXISTING_CLUSTER=1 KUBECONFIG=...`` makes the test session use the cluster the
kubeconfig names instead of starting its own. `make test` proves that path here: it starts an
embedded control plane (standing in for the user's cluster, reached only through its kubeconfig),
runs the portable subset (``-m "cluster and not embedded_only"``) against it, and stops it.

    python -m tests.run_on_existing_cluster [pytest arguments]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from spyops.cluster.binaries import ensure_binaries
from spyops.cluster.controlplane import ControlPlane
from spyops.cluster.testing import USE_EXISTING_ENV
from tests.conftest import PORTABLE


def main(pytest_args: list[str]) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="spyops-existing-cluster-"))
    plane = ControlPlane(workdir / "cluster", ensure_binaries(), name="existing-cluster-tests")
    try:
        plane.start()
        env = dict(os.environ, **{USE_EXISTING_ENV: "1", "KUBECONFIG": str(plane.kubeconfig)})
        print(
            f"running `pytest -m '{PORTABLE}'` against {plane.server} through {USE_EXISTING_ENV}=1",
            flush=True,
        )
        command = [sys.executable, "-m", "pytest", "-m", PORTABLE, *pytest_args]
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        plane.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
