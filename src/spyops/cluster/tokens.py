"""Kubeconfigs that act as a ServiceAccount (a bearer token) on a cluster whose admin kubeconfig we hold."""

from __future__ import annotations

from pathlib import Path

import yaml


def token_kubeconfig(
    admin_kubeconfig: Path, user: str, token: str, target: Path, namespace: str | None = None
) -> Path:
    """A kubeconfig for the cluster of ``admin_kubeconfig`` that authenticates with a bearer ``token``
    (and defaults to ``namespace`` when given)."""
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    cluster_entry = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": user,
                "context": {
                    "cluster": cluster_entry["name"],
                    "user": user,
                    **({"namespace": namespace} if namespace else {}),
                },
            }
        ],
        "current-context": user,
    }
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target
