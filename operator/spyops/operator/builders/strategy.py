"""TradingStrategy -> ConfigMap, detector and bot Deployments and Services, bot RBAC, PDB,
NetworkPolicies, and a ServiceMonitor when the Prometheus Operator is installed.

Nothing in a pod template depends on the rendered config, so changing risk limits or the
trading state rewrites only the ConfigMap (the pods hot-reload the mounted directory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from spyops.operator.api.common import GROUP, ResourceList, Resources
from spyops.operator.api.strategy import TracingExporter, TradingStrategySpec
from spyops.operator.builders.common import (
    STRATEGY_LABEL,
    TRADING_CLIENT_LABEL,
    Owner,
    base_labels,
    container_security_context,
    env_from_field,
    http_probe,
    metadata,
    pod_security_context,
    resources,
)
from spyops.operator.render import BACKEND_TOKEN_DIR, DETECTOR_SIGNAL_PORT, lease_name
from spyops.schemas.runtime_config import CONFIG_FILE_NAME, RuntimeConfig

CONFIG_DIR = "/etc/spyops"
STATE_DIR = "/var/lib/spyops"  # the claim's mount: journal and outboxes
DETECTOR_OUTBOX = f"{STATE_DIR}/outbox.sqlite3"
METRICS_PORT = 8080
_DETECTOR_RESOURCES = Resources(
    requests=ResourceList(cpu="250m", memory="256Mi"), limits=ResourceList(memory="512Mi")
)
_BOT_RESOURCES = Resources(
    requests=ResourceList(cpu="100m", memory="192Mi"), limits=ResourceList(memory="384Mi")
)


@dataclass(frozen=True)
class StrategyInputs:
    owner: Owner
    spec: TradingStrategySpec
    config: RuntimeConfig
    workload_image: str
    service_monitor: bool


def config_map_name(strategy: str) -> str:
    return f"{strategy}-config"


def detector_name(strategy: str) -> str:
    return f"{strategy}-detector"


def bot_name(strategy: str) -> str:
    return f"{strategy}-bot"


def state_claim_name(strategy: str, component: str) -> str:
    return f"{strategy}-{component}-state"


def selector(strategy: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/instance": strategy,
        "app.kubernetes.io/component": component,
        STRATEGY_LABEL: strategy,
    }


def _labels(owner: Owner, component: str) -> dict[str, str]:
    return {**base_labels(owner, component), STRATEGY_LABEL: owner.name}


def _pod_labels(owner: Owner, component: str) -> dict[str, str]:
    return {**_labels(owner, component), TRADING_CLIENT_LABEL: "true"}


def _image(inputs: StrategyInputs) -> str:
    return inputs.spec.image or inputs.workload_image


def _replicas(inputs: StrategyInputs, wanted: int) -> int:
    return 0 if inputs.spec.suspend else wanted


def build_config_map(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, config_map_name(owner.name), _labels(owner, "config")),
        "data": {CONFIG_FILE_NAME: inputs.config.to_json()},
    }


def build_state_claim(inputs: StrategyInputs, component: str) -> dict[str, Any]:
    """The component's durable state, claimed by the operator and owned by the strategy, so it outlives
    every pod (deleted, rescheduled, rolled) and goes with the strategy. Not a StatefulSet's
    volumeClaimTemplates: the bots stay a Deployment, whose rolling update can surge (maxUnavailable
    0) where a StatefulSet's cannot; each bot replica takes a slot of the shared claim (spyops.bot.slots)."""
    owner, storage = inputs.owner, inputs.spec.storage
    spec: dict[str, Any] = {
        # ReadWriteOnce is per node: every bot replica on the edge node mounts the same claim.
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class_name:
        spec["storageClassName"] = storage.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(owner, state_claim_name(owner.name, component), _labels(owner, component)),
        "spec": spec,
    }


def _state_volume(owner: Owner, component: str) -> dict[str, Any]:
    return {"name": "state", "persistentVolumeClaim": {"claimName": state_claim_name(owner.name, component)}}


def _config_volume(owner: Owner) -> dict[str, Any]:
    # A directory mount (not subPath) so the kubelet swaps the file in place when the ConfigMap changes.
    return {"name": "config", "configMap": {"name": config_map_name(owner.name), "defaultMode": 0o444}}


def _workload_command(component: str) -> list[str]:
    return ["spyops", component, "--config", f"{CONFIG_DIR}/{CONFIG_FILE_NAME}"]


def build_detector_deployment(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    token_mounts, token_volumes = _backend_token(inputs.spec)
    container = {
        "name": "detector",
        "image": _image(inputs),
        "imagePullPolicy": "IfNotPresent",
        # A container that dies at start leaves its last log lines in its status (shown on the CR).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "command": [*_workload_command("detector"), "--outbox", DETECTOR_OUTBOX],
        "env": [
            env_from_field("POD_NAME", "metadata.name"),
            env_from_field("POD_NAMESPACE", "metadata.namespace"),
            *tracing_env(inputs.spec, "detector"),
        ],
        "ports": [
            {"name": "signals", "containerPort": DETECTOR_SIGNAL_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": http_probe("/health", "metrics", period=10, failure_threshold=3, initial_delay=5),
        "readinessProbe": http_probe("/ready", "metrics", period=5, failure_threshold=3),
        "resources": resources(inputs.spec.resources.detector, _DETECTOR_RESOURCES),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
            *token_mounts,
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, detector_name(owner.name), _labels(owner, "detector")),
        "spec": {
            "replicas": _replicas(inputs, 1),
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector(owner.name, "detector")},
            # One detector at a time: it holds the strategy's TWS client id.
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": _pod_labels(owner, "detector")},
                "spec": {
                    "securityContext": pod_security_context(),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 20,
                    "containers": [container],
                    "volumes": [
                        _config_volume(owner),
                        _state_volume(owner, "detector"),
                        {"name": "tmp", "emptyDir": {}},
                        *token_volumes,
                    ],
                },
            },
        },
    }


def tracing_env(spec: TradingStrategySpec, component: str) -> list[dict[str, Any]]:
    """The OpenTelemetry environment of a workload (``spyops.common.tracing`` reads it); none when off,
    so a strategy without tracing renders the same pod template as before tracing existed."""
    tracing = spec.tracing
    if tracing.exporter is TracingExporter.NONE:
        return []
    env: list[dict[str, Any]] = [
        {"name": "OTEL_SERVICE_NAME", "value": f"spyops-{component}"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": repr(float(tracing.sampling_ratio))},
    ]
    if tracing.exporter is TracingExporter.OTLP:
        return [
            {"name": "OTEL_TRACES_EXPORTER", "value": "otlp"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": tracing.otlp_endpoint},
            {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": tracing.otlp_protocol.value},
            *env,
        ]
    secret = tracing.connection_string_secret_ref
    assert secret is not None  # the CRD's CEL rule requires it
    return [
        {"name": "OTEL_TRACES_EXPORTER", "value": "azure_monitor"},
        {
            "name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "valueFrom": {"secretKeyRef": {"name": secret.name, "key": secret.key}},
        },
        *env,
    ]


def _backend_token(spec: TradingStrategySpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mount and volume of the backend's bearer token: the detector and the bots both post to the backend."""
    token = spec.outbound.token_secret_ref
    if token is None:
        return [], []
    mount = {"name": "backend-token", "mountPath": BACKEND_TOKEN_DIR, "readOnly": True}
    volume = {
        "name": "backend-token",
        "secret": {
            "secretName": token.name,
            "items": [{"key": token.key, "path": token.key}],
            "defaultMode": 0o440,
        },
    }
    return [mount], [volume]


def build_bot_deployment(inputs: StrategyInputs) -> dict[str, Any]:
    owner, spec = inputs.owner, inputs.spec
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "state", "mountPath": STATE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
    ]
    volumes: list[dict[str, Any]] = [
        _config_volume(owner),
        _state_volume(owner, "bot"),
        {"name": "tmp", "emptyDir": {}},
    ]
    token_mounts, token_volumes = _backend_token(spec)
    mounts += token_mounts
    volumes += token_volumes
    container = {
        "name": "bot",
        "image": _image(inputs),
        "imagePullPolicy": "IfNotPresent",
        # A container that dies at start leaves its last log lines in its status (shown on the CR).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "command": [*_workload_command("bot"), "--state-dir", STATE_DIR],
        "env": [
            env_from_field("POD_NAME", "metadata.name"),
            env_from_field("POD_NAMESPACE", "metadata.namespace"),
            *tracing_env(inputs.spec, "bot"),
        ],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "livenessProbe": http_probe("/health", "metrics", period=10, failure_threshold=3, initial_delay=5),
        "readinessProbe": http_probe("/ready", "metrics", period=5, failure_threshold=3),
        "resources": resources(spec.resources.bot, _BOT_RESOURCES),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "spec": {
            "replicas": _replicas(inputs, spec.replicas),
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector(owner.name, "bot")},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": _pod_labels(owner, "bot")},
                "spec": {
                    "serviceAccountName": bot_name(owner.name),
                    "automountServiceAccountToken": True,
                    "securityContext": pod_security_context(),
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {"matchLabels": selector(owner.name, "bot")},
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def _service(owner: Owner, name: str, component: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, name, _labels(owner, component)),
        "spec": {"type": "ClusterIP", "selector": selector(owner.name, component), "ports": ports},
    }


def build_detector_service(inputs: StrategyInputs) -> dict[str, Any]:
    return _service(
        inputs.owner,
        detector_name(inputs.owner.name),
        "detector",
        [
            {"name": "signals", "port": DETECTOR_SIGNAL_PORT, "targetPort": "signals", "protocol": "TCP"},
            {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
        ],
    )


def build_bot_service(inputs: StrategyInputs) -> dict[str, Any]:
    return _service(
        inputs.owner,
        bot_name(inputs.owner.name),
        "bot",
        [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
    )


def build_service_account(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "automountServiceAccountToken": False,
    }


def build_role(inputs: StrategyInputs) -> dict[str, Any]:
    """Exactly what a bot needs: contend for its Lease, read its strategy, patch its status."""
    owner = inputs.owner
    lease = lease_name(owner.name)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "rules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "resourceNames": [lease],
                "verbs": ["get", "update"],
            },
            # create cannot be limited by name (the object does not exist yet when it is authorized).
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {
                "apiGroups": [GROUP],
                "resources": ["tradingstrategies"],
                "resourceNames": [owner.name],
                "verbs": ["get"],
            },
            {
                "apiGroups": [GROUP],
                "resources": ["tradingstrategies/status"],
                "resourceNames": [owner.name],
                "verbs": ["get", "patch"],
            },
        ],
    }


def build_role_binding(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": bot_name(owner.name)},
        "subjects": [{"kind": "ServiceAccount", "name": bot_name(owner.name), "namespace": owner.namespace}],
    }


def build_pdb(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(owner.name, "bot")}},
    }


def build_detector_network_policy(inputs: StrategyInputs) -> dict[str, Any]:
    """Signals only to this strategy's bots; metrics from anywhere (Prometheus lives elsewhere)."""
    owner = inputs.owner
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(owner, detector_name(owner.name), _labels(owner, "detector")),
        "spec": {
            "podSelector": {"matchLabels": selector(owner.name, "detector")},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": selector(owner.name, "bot")}}],
                    "ports": [{"protocol": "TCP", "port": "signals"}],
                },
                {"ports": [{"protocol": "TCP", "port": "metrics"}]},
            ],
        },
    }


def build_bot_network_policy(inputs: StrategyInputs) -> dict[str, Any]:
    """Bots serve nothing but health and metrics."""
    owner = inputs.owner
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(owner, bot_name(owner.name), _labels(owner, "bot")),
        "spec": {
            "podSelector": {"matchLabels": selector(owner.name, "bot")},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": "metrics"}]}],
        },
    }


def build_service_monitor(inputs: StrategyInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(owner, owner.name, _labels(owner, "metrics")),
        "spec": {
            "selector": {
                "matchLabels": {"app.kubernetes.io/instance": owner.name, STRATEGY_LABEL: owner.name}
            },
            "endpoints": [
                {
                    "port": "metrics",
                    "path": "/metrics",
                    "interval": "30s",
                    # The alert rules and dashboards group by `strategy` and `component`.
                    "relabelings": [
                        {"sourceLabels": [_pod_label_meta(STRATEGY_LABEL)], "targetLabel": "strategy"},
                        {
                            "sourceLabels": [_pod_label_meta("app.kubernetes.io/component")],
                            "targetLabel": "component",
                        },
                    ],
                }
            ],
        },
    }


def _pod_label_meta(label: str) -> str:
    """Prometheus's meta label for a pod label: every character outside [a-zA-Z0-9_] becomes `_`."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


def build_strategy_children(inputs: StrategyInputs) -> list[dict[str, Any]]:
    """All children, in apply order: config and identity before the workloads that use them."""
    children = [
        build_config_map(inputs),
        build_service_account(inputs),
        build_role(inputs),
        build_role_binding(inputs),
        build_detector_service(inputs),
        build_bot_service(inputs),
        build_state_claim(inputs, "detector"),
        build_state_claim(inputs, "bot"),
        build_detector_deployment(inputs),
        build_bot_deployment(inputs),
        build_pdb(inputs),
        build_detector_network_policy(inputs),
        build_bot_network_policy(inputs),
    ]
    if inputs.service_monitor:
        children.append(build_service_monitor(inputs))
    return children
