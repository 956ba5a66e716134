"""Kubernetes setup for the bot's cluster tests: the TradingStrategy CRD and the bot's narrow RBAC.

The bot's ServiceAccount, Role and RoleBinding are the ones the operator makes for the strategy,
rendered by the operator's own builders: there is no second copy of the bot's permissions to drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from spyops.cluster.testing import KubeCluster
from spyops.cluster.tokens import token_kubeconfig
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.builders.common import Owner
from spyops.operator.builders.strategy import StrategyInputs, bot_name, build_strategy_children
from spyops.operator.render import GatewayTarget, gateway_host, render_runtime_config
from tests.operator.support import install_crds

BOT_IDENTITY_KINDS = ("ServiceAccount", "Role", "RoleBinding")


def ensure_crd(cluster: KubeCluster) -> None:
    install_crds(cluster)


def create_strategy(cluster: KubeCluster, namespace: str, name: str) -> None:
    strategy = {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayRef": {"name": "paper-gateway"}},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(strategy))


def strategy_body(cluster: KubeCluster, namespace: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "tradingstrategies.spyops.io", name, "-n", namespace, "-o", "json").stdout
    body: dict[str, Any] = json.loads(out)
    return body


def strategy_status(cluster: KubeCluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = strategy_body(cluster, namespace, name).get("status") or {}
    return status


def operator_bot_identity(cluster: KubeCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    """The bot's ServiceAccount, Role and RoleBinding exactly as the operator renders them for ``name``."""
    body = strategy_body(cluster, namespace, name)
    spec = TradingStrategySpec.model_validate(body["spec"])
    owner = Owner("TradingStrategy", name, namespace, body["metadata"]["uid"])
    gateway = GatewayTarget(gateway_host(spec.gateway_ref.name, namespace), 4002, "paper")
    config = render_runtime_config(namespace, name, spec, gateway, None)
    children = build_strategy_children(StrategyInputs(owner, spec, config, "unused", service_monitor=False))
    return [c for c in children if c["kind"] in BOT_IDENTITY_KINDS]


def bot_kubeconfig(cluster: KubeCluster, namespace: str, strategy: str, path: Path) -> Path:
    """A kubeconfig that acts as the bot's ServiceAccount, with only the Role the operator gives it."""
    identity = operator_bot_identity(cluster, namespace, strategy)
    assert sorted(c["kind"] for c in identity) == sorted(BOT_IDENTITY_KINDS)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(identity))
    account = bot_name(strategy)
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    return token_kubeconfig(cluster.kubeconfig, account, token, path, namespace)
