"""Kubernetes setup for the bot's cluster tests: the TradingStrategy CRD and the bot's narrow RBAC."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import yaml

from spyops.cluster.testing import KubeCluster

Kubectl = Callable[..., CompletedProcess[str]]

# Stand-in until the operator's generated CRD (crds/tradingstrategies.spyops.io.yaml) is in main:
# the same group, version, names and status subresource; the schema keeps every field.
MINIMAL_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "tradingstrategies.spyops.io"},
    "spec": {
        "group": "spyops.io",
        "scope": "Namespaced",
        "names": {
            "plural": "tradingstrategies",
            "singular": "tradingstrategy",
            "kind": "TradingStrategy",
            "listKind": "TradingStrategyList",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}

# Exactly what the bot needs (what the operator's Role grants it).
BOT_ROLE_RULES = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
    {"apiGroups": ["spyops.io"], "resources": ["tradingstrategies/status"], "verbs": ["patch"]},
]


def ensure_crd(cluster: KubeCluster) -> None:
    repo_crd = Path(__file__).resolve().parents[2] / "crds" / "tradingstrategies.spyops.io.yaml"
    manifest = repo_crd.read_text() if repo_crd.exists() else yaml.safe_dump(MINIMAL_CRD)
    cluster.kubectl("apply", "-f", "-", input=manifest)
    cluster.kubectl("wait", "--for=condition=Established", "crd/tradingstrategies.spyops.io", "--timeout=60s")


def create_strategy(cluster: KubeCluster, namespace: str, name: str) -> None:
    strategy = {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayRef": {"name": "paper-gateway"}},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(strategy))


def strategy_status(cluster: KubeCluster, namespace: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "tradingstrategies.spyops.io", name, "-n", namespace, "-o", "json").stdout
    status: dict[str, Any] = json.loads(out).get("status") or {}
    return status


def bot_kubeconfig(cluster: KubeCluster, namespace: str, path: Path) -> Path:
    """A kubeconfig that acts as the bot's ServiceAccount, with only the bot's Role."""
    rbac = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "spyops-bot", "namespace": namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "spyops-bot", "namespace": namespace},
            "rules": BOT_ROLE_RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "spyops-bot", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "spyops-bot"},
            "subjects": [{"kind": "ServiceAccount", "name": "spyops-bot", "namespace": namespace}],
        },
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    token = cluster.kubectl("create", "token", "spyops-bot", "-n", namespace, "--duration=1h").stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    server = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [server],
        "users": [{"name": "spyops-bot", "user": {"token": token}}],
        "contexts": [
            {
                "name": "spyops-bot",
                "context": {"cluster": server["name"], "user": "spyops-bot", "namespace": namespace},
            }
        ],
        "current-context": "spyops-bot",
    }
    path.write_text(yaml.safe_dump(config))
    return path
