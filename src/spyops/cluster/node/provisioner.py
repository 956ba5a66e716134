"""A local-path volume provisioner for the real node (the idea of Rancher's local-path-provisioner, which
k3s ships): a claim of the `local-path` class gets a directory under the node's state directory as a
`local` PersistentVolume pinned to the node; a released volume's directory is deleted with it.

It follows the external-provisioner protocol: the PV controller marks the claim with
`volume.kubernetes.io/storage-provisioner`, the scheduler with `volume.kubernetes.io/selected-node`
(the class binds at first consumer), and the PV controller binds the volume made here to the claim.

Run as `python -m spyops.cluster.node.provisioner --kubeconfig K --root DIR --node NAME`.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from spyops.cluster.node.config import user_cluster_role
from spyops.common.retry import Backoff

PROVISIONER = "spyops.io/local-path"
STORAGE_CLASS = "local-path"
PROVISIONER_USER = "system:spyops:local-path"  # the CN of its client certificate
_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
_SELECTED_NODE = "volume.kubernetes.io/selected-node"
_CLAIM_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
# Besides every change, the plan is made again this often (a create the API server refused is retried).
RESYNC_SECONDS = 10.0

log = logging.getLogger("spyops.local-path")


def storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def rbac() -> list[dict[str, Any]]:
    """What the provisioner's identity (a client certificate, user `system:spyops:local-path`) may do."""
    return user_cluster_role(
        PROVISIONER_USER,
        [
            {
                "apiGroups": [""],
                "resources": ["persistentvolumes"],
                "verbs": ["get", "list", "watch", "create", "delete"],
            },
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list"]},
        ],
    )


@dataclass(frozen=True)
class Plan:
    create: list[dict[str, Any]]  # PersistentVolumes to create
    delete: list[str]  # names of released PersistentVolumes to delete with their directories


def volume_for(claim: dict[str, Any], node: str, root: Path, reclaim: str) -> dict[str, Any]:
    meta, spec = claim["metadata"], claim["spec"]
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {_PROVISIONED_BY: PROVISIONER}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": reclaim,
            "storageClassName": spec.get("storageClassName") or STORAGE_CLASS,
            "volumeMode": "Filesystem",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            "local": {"path": str(root / name)},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            },
        },
    }


def plan(
    claims: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    classes: dict[str, str],
    node: str,
    root: Path,
) -> Plan:
    """What to do now, from what the API server holds (pure: the loop below does the I/O).
    ``classes`` maps each StorageClass of this provisioner to its reclaim policy."""
    existing = {v["metadata"]["name"] for v in volumes}
    create = []
    for claim in claims:
        annotations = claim["metadata"].get("annotations") or {}
        if (
            annotations.get(_CLAIM_PROVISIONER) == PROVISIONER
            and annotations.get(_SELECTED_NODE) == node
            and claim.get("status", {}).get("phase") == "Pending"
            and not claim["spec"].get("volumeName")
            and f"pvc-{claim['metadata']['uid']}" not in existing
        ):
            reclaim = classes.get(claim["spec"].get("storageClassName") or STORAGE_CLASS, "Delete")
            create.append(volume_for(claim, node, root, reclaim))
    delete = [
        v["metadata"]["name"]
        for v in volumes
        if (v["metadata"].get("annotations") or {}).get(_PROVISIONED_BY) == PROVISIONER
        and v.get("status", {}).get("phase") == "Released"
        and v["spec"].get("persistentVolumeReclaimPolicy") == "Delete"
    ]
    return Plan(create, delete)


def client_from_kubeconfig(kubeconfig: Path) -> httpx.Client:
    """An HTTPS client as the kubeconfig's first user (client certificate files, as ours are written)."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    return httpx.Client(base_url=cluster["server"], verify=context, timeout=10.0)


class Watched:
    """The objects of one collection as last seen: LIST once, then WATCH from that resourceVersion (an
    informer's way). Polling with two cluster-wide LISTs every half second cost the API server and this
    process more CPU than anything else at 1,000 claims (they grow with the cluster, not with the work)."""

    def __init__(self, http: httpx.Client, path: str, changed: threading.Event) -> None:
        self.http, self.path, self.changed = http, path, changed
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items.values())

    def follow(self, stop: threading.Event) -> None:
        """List and watch until ``stop``; a failed or expired watch lists again (after a pause)."""
        retry = Backoff(base=0.5, cap=10.0)
        attempt = 0
        while not stop.is_set():
            try:
                version = self._list()
                attempt = 0
                self._watch(version, stop)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("following %s failed: %s", self.path, exc)
                stop.wait(retry.delay(attempt))
                attempt += 1

    def _list(self) -> str:
        body = self.http.get(self.path).raise_for_status().json()
        with self._lock:
            self._items = {item["metadata"]["uid"]: item for item in body["items"]}
        self.synced.set()
        self.changed.set()
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, version: str, stop: threading.Event) -> None:
        params = {
            "watch": "1",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "60",
        }
        with self.http.stream(
            "GET", self.path, params=params, timeout=httpx.Timeout(10.0, read=90.0)
        ) as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if stop.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":  # 410 Gone: the version is too old; list again
                    raise ValueError(f"watch ended: {obj.get('message', obj)}")
                if kind == "BOOKMARK":
                    continue
                with self._lock:
                    if kind == "DELETED":
                        self._items.pop(obj["metadata"]["uid"], None)
                    else:
                        self._items[obj["metadata"]["uid"]] = obj
                self.changed.set()


def run(
    kubeconfig: Path, root: Path, node: str, stop: threading.Event, resync: float = RESYNC_SECONDS
) -> None:
    """Act on every change of the claims and volumes (and every ``resync`` seconds, so a failed create
    is tried again) until ``stop``."""
    root.mkdir(parents=True, exist_ok=True)
    changed = threading.Event()
    with (
        client_from_kubeconfig(kubeconfig) as http,
        client_from_kubeconfig(kubeconfig) as claims_http,
        client_from_kubeconfig(kubeconfig) as volumes_http,
    ):
        claims = Watched(claims_http, "/api/v1/persistentvolumeclaims", changed)
        volumes = Watched(volumes_http, "/api/v1/persistentvolumes", changed)
        threads = [
            threading.Thread(target=w.follow, args=(stop,), name=f"follow {w.path}", daemon=True)
            for w in (claims, volumes)
        ]
        for thread in threads:
            thread.start()
        while not stop.is_set():
            changed.wait(resync)
            changed.clear()
            if stop.is_set() or not (claims.synced.is_set() and volumes.synced.is_set()):
                continue
            try:
                _step(http, root, node, claims.items(), volumes.items())
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                log.warning("provisioner step failed: %s", exc)
                stop.wait(1.0)
                changed.set()  # try again


def _step(
    http: httpx.Client, root: Path, node: str, claims: list[dict[str, Any]], volumes: list[dict[str, Any]]
) -> None:
    classes = {
        c["metadata"]["name"]: c.get("reclaimPolicy", "Delete")
        for c in http.get("/apis/storage.k8s.io/v1/storageclasses").raise_for_status().json()["items"]
        if c.get("provisioner") == PROVISIONER
    }
    to_do = plan(claims, volumes, classes, node, root)
    for volume in to_do.create:
        directory = Path(volume["spec"]["local"]["path"])
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # pods run as any non-root uid (as local-path-provisioner does)
        response = http.post("/api/v1/persistentvolumes", json=volume)
        if response.status_code not in (201, 409):
            log.warning(
                "creating %s: HTTP %s %s",
                volume["metadata"]["name"],
                response.status_code,
                response.text[:300],
            )
        else:
            log.info("provisioned %s at %s", volume["metadata"]["name"], directory)
    for name in to_do.delete:
        shutil.rmtree(root / name, ignore_errors=True)
        response = http.delete(f"/api/v1/persistentvolumes/{name}")
        if response.status_code in (200, 202, 404):
            log.info("deleted released volume %s", name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="spyops-local-path", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True, help="directory that holds the volumes")
    parser.add_argument("--node", required=True, help="the node whose claims this provisioner serves")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(args.kubeconfig, args.root, args.node, stop)


if __name__ == "__main__":
    main()
