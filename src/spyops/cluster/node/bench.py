"""`spyops bench realnode`: the real node's numbers, each next to a baseline from the same run.

- image build: cold (`--no-cache`) next to warm (nothing changed) and a source-only rebuild; sizes next
  to the base image's;
- node up: control plane + real node next to the control plane with kwok alone;
- pods: create to Running per component of the example strategy next to a bare pod on the same node;
- examples applied to the first order at the gateway, next to applied to the strategy Ready.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spyops.cluster.kubectl import run_kubectl


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _images(cold: bool, say: Callable[[str], None]) -> dict[str, Any]:
    from spyops.images.build import build_all, inspect
    from spyops.images.names import REPO_ROOT

    result: dict[str, Any] = {}
    if cold:
        result["cold_seconds"] = build_all(no_cache=True, say=say)[0].seconds
        # Layers of a --no-cache build are not reused as cache by the next build (measured: it
        # repeats the dependency layer), so that build is reported on its own.
        result["first_build_after_cold_seconds"] = build_all(say=say)[0].seconds
    warm = build_all(say=say)[0]
    result["warm_unchanged_seconds"] = warm.seconds
    marker = REPO_ROOT / "src" / "spyops" / "images" / "_bench_touch.py"
    marker.write_text(
        '"""Written by `spyops bench realnode` to time a source-only rebuild; removed after."""\n'
    )
    try:
        result["warm_source_change_seconds"] = build_all(say=say)[0].seconds
    finally:
        marker.unlink()
        build_all(say=say)  # back to the image of the checked-out source
    base_size = inspect(warm.base)[1]
    result["sizes_bytes"] = {tag: warm.size_bytes for tag in warm.tags}
    result["base"] = {"ref": warm.base, "size_bytes": base_size}
    result["added_over_base_bytes"] = warm.size_bytes - base_size
    return result


def _bare_pod_seconds(kubeconfig: Path, image: str) -> float:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bench-bare", "namespace": "default"},
        "spec": {
            "containers": [
                {"name": "c", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "600"]}
            ],
            "terminationGracePeriodSeconds": 0,
        },
    }
    run_kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(manifest))
    run_kubectl(kubeconfig, "wait", "--for=condition=Ready", "pod/bench-bare", "--timeout=120s", timeout=150)
    from spyops.cluster.node.deploy import pod_start_seconds

    seconds = pod_start_seconds(kubeconfig, "default")["other"][0]
    run_kubectl(kubeconfig, "delete", "pod", "bench-bare", "--wait=false")
    return seconds


def run_realnode_benchmark(*, cold_build: bool, say: Callable[[str], None]) -> dict[str, Any]:
    from spyops.cluster.binaries import ensure_binaries
    from spyops.cluster.controlplane import ControlPlane
    from spyops.cluster.node.binaries import ensure_node_binaries
    from spyops.cluster.node.deploy import (
        GATEWAY,
        STRATEGY,
        apply_examples,
        get_json,
        helm_install,
        orders_at_gateway,
        pod_start_seconds,
        wait_for,
    )
    from spyops.cluster.node.realnode import RealNodeCluster
    from spyops.images.build import all_tags
    from spyops.operator.main import DEFAULT_WORKLOAD_IMAGE
    from spyops.toolchain.helm import ensure_helm

    report: dict[str, Any] = {"load_at_start": _load()}
    report["images"] = _images(cold_build, say)
    binaries, node_binaries, helm = ensure_binaries(), ensure_node_binaries(), ensure_helm()
    with tempfile.TemporaryDirectory(prefix="spyops-bench-") as tmp:
        started = time.monotonic()
        plane = ControlPlane(Path(tmp) / "kwok", binaries, name="bench-kwok")
        plane.start()
        kwok_seconds = time.monotonic() - started
        plane.stop()
        cluster = RealNodeCluster(
            Path(tmp) / "real", binaries, node_binaries, images=all_tags(), name="bench", progress=say
        )
        started = time.monotonic()
        cluster.start()
        try:
            real_seconds = time.monotonic() - started
            assert cluster.timings is not None
            report["node_up"] = {
                "real_node_cluster_seconds": round(real_seconds, 1),
                "baseline_kwok_cluster_seconds": round(kwok_seconds, 1),
                "kubelet_start_to_node_ready_seconds": cluster.timings.node_ready_seconds,
                "images_load_seconds": cluster.timings.images_load_seconds,
            }
            kube = cluster.kubeconfig
            report["bare_pod_create_to_running_seconds"] = _bare_pod_seconds(kube, DEFAULT_WORKLOAD_IMAGE)
            report["helm_install_seconds"] = round(helm_install(kube, helm), 1)
            run_kubectl(kube, "create", "namespace", "bench")
            applied = apply_examples(kube, "bench")
            run_kubectl(
                kube, "wait", "-n", "bench", "--for=condition=Ready", f"ibkrgateway/{GATEWAY}",
                f"tradingstrategy/{STRATEGY}", "--timeout=300s", timeout=330,
            )  # fmt: skip
            ready_seconds = time.time() - applied
            wait_for("an order at the gateway", lambda: orders_at_gateway(kube, "bench"), 600, 2)
            order_seconds = time.time() - applied
            report["pod_create_to_running_seconds"] = pod_start_seconds(kube, "bench")
            report["examples_applied_to"] = {
                "first_order_seconds": round(order_seconds, 1),
                "baseline_strategy_ready_seconds": round(ready_seconds, 1),
                "leader": get_json(kube, "tradingstrategy", STRATEGY, "-n", "bench")["status"].get("leader"),
            }
        finally:
            left = cluster.stop()
        report["left_behind"] = left
    report["load_at_end"] = _load()
    return report
