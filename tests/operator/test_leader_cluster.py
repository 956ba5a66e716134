"""The operator's Lease: a clean stop releases it (told apart from expiry by a long lease and a short
bound), and a leader that loses it exits non-zero without touching it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.common.lease import LeaseTiming
from spyops.common.polling import wait_for
from tests.operator.support import OperatorProcess, get_json

pytestmark = pytest.mark.cluster

LEASE = "spyops-operator"
LONG_LEASE = 120.0
# The standby retries every 2 s; the stopping leader releases the Lease once kopf has shut down (a
# few seconds on a loaded machine). A takeover within this bound cannot be the 120 s Lease expiring.
HANDOVER_BOUND = 30.0


StartReplica = Callable[..., OperatorProcess]


@pytest.fixture
def start_replica(
    operator_sa_kubeconfig: Path, namespace: str, tmp_path: Path, operator_factory: list[OperatorProcess]
) -> StartReplica:
    """Start an operator replica with leader election (stopped at teardown) and wait until it serves /ready."""

    def start(identity: str, *args: str) -> OperatorProcess:
        proc = OperatorProcess(operator_sa_kubeconfig, namespace, tmp_path, identity, args).start()
        operator_factory.append(proc)
        proc.wait_ready()
        return proc

    return start


def holder(kube: KubeCluster, namespace: str) -> str | None:
    lease = get_json(kube, "lease", LEASE, "-n", namespace)
    found = lease["spec"].get("holderIdentity")
    return str(found) if found else None


def test_a_clean_stop_releases_the_lease(
    spyops_crds: KubeCluster, namespace: str, start_replica: StartReplica
) -> None:
    assert HANDOVER_BOUND < LONG_LEASE / 2
    first = start_replica("replica-a", "--lease-duration", str(LONG_LEASE))
    second = start_replica("replica-b", "--lease-duration", str(LONG_LEASE))
    assert first.get("/ready").json()["leader"] is True
    assert second.get("/ready").json()["standby"] is True
    assert get_json(spyops_crds, "lease", LEASE, "-n", namespace)["spec"]["leaseDurationSeconds"] == 120

    stopped_at = time.monotonic()
    assert first.stop() == 0
    wait_for(
        f"the standby to lead within {HANDOVER_BOUND:.0f}s of a clean stop (the {LONG_LEASE:.0f}s Lease "
        "would expire much later: it must have been released)",
        lambda: second.get("/ready").json()["leader"] is True,
        timeout=HANDOVER_BOUND,
        interval=0.1,
    )
    print(f"handover after a clean stop: {time.monotonic() - stopped_at:.2f}s (lease {LONG_LEASE:.0f}s)")
    assert holder(spyops_crds, namespace) == "replica-b"


def test_a_leader_that_loses_its_lease_exits_and_leaves_it_alone(
    spyops_crds: KubeCluster, namespace: str, start_replica: StartReplica
) -> None:
    proc = start_replica("replica-a")
    assert proc.get("/ready").json()["leader"] is True
    assert holder(spyops_crds, namespace) == "replica-a"

    # Someone else holds the Lease now (as after a partition healed late): the leader cannot renew.
    lease = get_json(spyops_crds, "lease", LEASE, "-n", namespace)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease["spec"].update(holderIdentity="usurper", leaseDurationSeconds=3600, renewTime=now, acquireTime=now)
    spyops_crds.kubectl("replace", "-f", "-", input=json.dumps(lease))
    taken_at = time.monotonic()

    timing = LeaseTiming.client_go()
    limit = timing.renew_deadline + 2 * timing.renew_interval + 15.0
    assert proc.process is not None
    wait_for(
        "the operator to exit", lambda: proc.process is not None and proc.process.poll() is not None, limit
    )
    print(f"exit {time.monotonic() - taken_at:.1f}s after losing the Lease")
    assert proc.process.returncode == 1
    assert "leadership lost; exiting so that only one replica reconciles" in proc.logs()
    assert holder(spyops_crds, namespace) == "usurper", "a leader that lost the Lease must not release it"
