"""The real node's pure parts: rendered configuration, the provisioner's plan, pod diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spyops.cluster.node import config as cfg
from spyops.cluster.node.provisioner import PROVISIONER, plan
from spyops.operator.podhealth import claims_to_check, diagnose

PATHS = cfg.NodePaths(Path("/state/node"))


def test_containerd_config_has_the_settings_this_host_needs() -> None:
    text = cfg.containerd_config(
        PATHS, sandbox_image="localhost/spyops/pause:catatonit", runc=Path("/usr/sbin/runc")
    )
    assert "restrict_oom_score_adj = true" in text
    assert "tolerate_missing_hugetlb_controller = true" in text
    assert "SystemdCgroup = false" in text
    assert 'address = "/run/containerd/containerd.sock"' in text
    assert 'conf_dir = "/state/node/cni/net.d"' in text


def test_kubelet_config_runs_on_cgroup_v1_with_containerd_16() -> None:
    settings = cfg.KubeletSettings("10.201.0.2", Path("/ca"), Path("/crt"), Path("/key"), "/spyops-node-x")
    config = cfg.kubelet_config(PATHS, settings)
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["cgroupRoot"] == "/spyops-node-x"
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["clusterDNS"] == [cfg.POD_GATEWAY]


def test_cni_leases_stay_under_the_node_directory() -> None:
    conflist = cfg.cni_conflist(PATHS, "spyops-x")
    assert conflist["plugins"][0]["ipam"]["dataDir"] == "/state/node/cni/ipam"
    assert conflist["plugins"][0]["bridge"] == cfg.BRIDGE


def _claim(name: str, node: str | None, phase: str = "Pending", volume: str = "") -> dict[str, Any]:
    annotations = {"volume.kubernetes.io/storage-provisioner": PROVISIONER}
    if node:
        annotations["volume.kubernetes.io/selected-node"] = node
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "annotations": annotations},
        "spec": {
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "local-path",
            "volumeName": volume,
        },
        "status": {"phase": phase},
    }


def test_provisioner_makes_a_volume_only_for_claims_scheduled_here() -> None:
    claims = [
        _claim("here", "n1"),
        _claim("elsewhere", "n2"),
        _claim("unscheduled", None),
        _claim("bound", "n1", "Bound", "pv"),
    ]
    todo = plan(claims, [], {"local-path": "Delete"}, "n1", Path("/vol"))
    assert [v["metadata"]["name"] for v in todo.create] == ["pvc-uid-here"]
    volume = todo.create[0]
    assert volume["spec"]["local"]["path"] == "/vol/pvc-uid-here"
    assert volume["spec"]["claimRef"]["uid"] == "uid-here"
    terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["n1"]
    # Already made (the claim is not bound yet): not again.
    assert plan(claims, todo.create, {"local-path": "Delete"}, "n1", Path("/vol")).create == []


def test_provisioner_deletes_only_its_released_volumes() -> None:
    ours: dict[str, Any] = {"metadata": {"name": "a", "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {"persistentVolumeReclaimPolicy": "Delete"}, "status": {"phase": "Released"}}  # fmt: skip
    retained = {
        **ours,
        "metadata": {**ours["metadata"], "name": "b"},
        "spec": {"persistentVolumeReclaimPolicy": "Retain"},
    }
    foreign = {**ours, "metadata": {"name": "c", "annotations": {}}}
    assert plan([], [ours, retained, foreign], {}, "n1", Path("/vol")).delete == ["a"]


def _pod(name: str, container: dict[str, Any], phase: str = "Running", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": spec,
        "status": {"phase": phase, "containerStatuses": [container]},
    }


def test_image_pull_failure_names_the_image() -> None:
    pod = _pod(
        "gw-0",
        {
            "name": "gateway",
            "image": "ghcr.io/x/y:1",
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}},
        },
        "Pending",
    )
    problem = diagnose("gateway", [pod])
    assert problem is not None
    assert problem.stalled
    assert problem.reason == "ImagePullBackOff"
    assert "ghcr.io/x/y:1" in problem.message
    assert "gw-0" in problem.message


def test_crash_loop_gives_exit_code_and_last_log_line() -> None:
    container = {
        "name": "gateway",
        "restartCount": 3,
        "ready": False,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {
            "terminated": {"exitCode": 2, "message": "Usage: ...\nError: unknown scenario 'volatile'\n"}
        },
    }
    problem = diagnose("gateway", [_pod("gw-0", container)])
    assert problem is not None
    assert problem.reason == "CrashLoopBackOff"
    assert "code 2" in problem.message
    assert "unknown scenario 'volatile'" in problem.message


def test_last_log_line_skips_panel_borders() -> None:
    container = {
        "name": "gateway",
        "restartCount": 1,
        "ready": False,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {
            "terminated": {"exitCode": 2, "message": "╭─ Error ─╮\n│ bad value for --x │\n╰─────────╯\n"}
        },
    }
    problem = diagnose("gateway", [_pod("gw-0", container)])
    assert problem is not None
    assert problem.message.endswith("last log line: bad value for --x")


def test_pending_claim_is_named() -> None:
    pod = _pod("gw-0", {"name": "gateway", "state": {"waiting": {"reason": "ContainerCreating"}}}, "Pending",
               volumes=[{"name": "settings", "persistentVolumeClaim": {"claimName": "settings-gw-0"}}])  # fmt: skip
    problem = diagnose("gateway", [pod], {"settings-gw-0": {"status": {"phase": "Pending"}}})
    assert problem is not None
    assert problem.reason == "VolumePending"
    assert not problem.stalled
    assert "settings-gw-0 (Pending)" in problem.message


def test_only_the_claims_of_pending_pods_are_fetched() -> None:
    # The operator GETs these by name on each pod look: a Running pod's claim, or one of a pod being
    # deleted, tells `diagnose` nothing, and listing the namespace's claims cost O(strategies) per look.
    def with_claim(name: str, phase: str, claim: str, deleting: bool = False) -> dict[str, Any]:
        pod = _pod(name, {"name": "bot", "state": {"waiting": {"reason": "ContainerCreating"}}}, phase,
                   volumes=[{"name": "state", "persistentVolumeClaim": {"claimName": claim}}, {"name": "tmp", "emptyDir": {}}])  # fmt: skip
        if deleting:
            pod["metadata"]["deletionTimestamp"] = "2026-12-06T00:00:00Z"
        return pod

    pods = [
        with_claim("bot-0", "Pending", "s-bot-state"),
        with_claim("bot-1", "Pending", "s-bot-state"),
        with_claim("bot-2", "Running", "s-other-state"),
        with_claim("bot-3", "Pending", "s-gone-state", deleting=True),
    ]
    assert claims_to_check(pods) == ["s-bot-state"]
    problem = diagnose("bot", pods, {})
    assert problem is not None
    assert "s-bot-state (missing)" in problem.message


def test_the_operator_can_list_what_it_diagnoses() -> None:
    # The reconcilers list pods and claims through the operator's client: both kinds must be known
    # to it (found on the real node: an unknown kind failed every reconcile of a failing workload).
    from spyops.operator.kube import kind_ref

    assert kind_ref("v1", "Pod").plural == "pods"
    assert kind_ref("v1", "PersistentVolumeClaim").plural == "persistentvolumeclaims"


def test_starting_pods_are_not_a_problem() -> None:
    pod = _pod("gw-0", {"name": "gateway", "ready": False, "restartCount": 0, "state": {"running": {}}})
    assert diagnose("gateway", [pod]) is None
