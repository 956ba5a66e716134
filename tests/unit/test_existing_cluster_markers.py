"""Against an existing cluster, a test that needs the embedded control plane fails at once, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from spyops.cluster.testing import USE_EXISTING_ENV

REPO = Path(__file__).resolve().parents[2]


def test_an_embedded_only_test_fails_fast_on_an_existing_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    env = dict(os.environ, **{USE_EXISTING_ENV: "1", "KUBECONFIG": str(kubeconfig)})
    test = "tests/cluster/test_cluster_cli.py::test_env_without_a_cluster_says_how_to_start_one"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "runs only on the embedded control plane (tests `spyops cluster`" in result.stdout
    assert "-m 'cluster and not embedded_only'" in result.stdout
    assert "1 error" in result.stdout  # failed in setup: the test body never ran
