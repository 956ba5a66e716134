"""IBKRGateway -> StatefulSet (one pod), headless Service, NetworkPolicy, and the identity of its API probe.

The readiness probe (`spyops gateway-probe`, a real TWS handshake) also writes the gateway's
``status.serverVersion`` and ``status.lastRestart``. It does so as the gateway's own
ServiceAccount, whose Role allows one thing: patching that one gateway's status. Its token is
projected into the container that runs the probe only (the simulator's, or the ``api-probe``
sidecar next to IB Gateway, never the IB Gateway container), so the NetworkPolicy stays as it is:
nothing outside the pod talks to the gateway to learn its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spyops.operator.api.common import GROUP, ResourceList, Resources
from spyops.operator.api.gateway import IBKRGatewaySpec, TradingMode
from spyops.operator.builders.common import (
    GATEWAY_LABEL,
    TRADING_CLIENT_LABEL,
    Owner,
    base_labels,
    container_security_context,
    http_probe,
    metadata,
    pod_security_context,
    resources,
)

# The community IB Gateway image listens on 4001/4002 (live/paper) on localhost only and relays
# them with socat on 4003/4004, which is what other pods can reach.
_IBG_RELAY_PORT = {TradingMode.LIVE: 4003, TradingMode.PAPER: 4004}
_IBG_UID = 1000
_SIM_RESOURCES = Resources(
    requests=ResourceList(cpu="100m", memory="128Mi"), limits=ResourceList(memory="256Mi")
)
_IBG_RESOURCES = Resources(
    requests=ResourceList(cpu="500m", memory="1Gi"), limits=ResourceList(memory="1536Mi")
)
_PROBE_CLIENT_ID = 9_999
_TOKEN_VOLUME = "api-status-token"  # noqa: S105 - a volume name, not a secret
_TOKEN_MOUNT = {
    "name": _TOKEN_VOLUME,
    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    "readOnly": True,
}
_PROBE_STATE_FILE = "/tmp/spyops-gateway-probe.json"  # noqa: S108 - the pod's scratch emptyDir


@dataclass(frozen=True)
class GatewayInputs:
    owner: Owner
    spec: IBKRGatewaySpec
    workload_image: str


def gateway_selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": "gateway", GATEWAY_LABEL: name}


def gateway_labels(owner: Owner) -> dict[str, str]:
    return {**base_labels(owner, "gateway"), GATEWAY_LABEL: owner.name}


def gateway_mode(spec: IBKRGatewaySpec) -> str:
    return "simulator" if spec.simulator is not None else spec.trading_mode.value


def _to_12h(hhmm: str) -> str:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    suffix = "AM" if hours < 12 else "PM"
    return f"{(hours % 12) or 12:02d}:{minutes:02d} {suffix}"


def gateway_account_name(name: str) -> str:
    return f"{name}-gateway"


def _token_volume() -> dict[str, Any]:
    """What automounting would give, as a volume that only the probe's container mounts."""
    return {
        "name": _TOKEN_VOLUME,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                    }
                },
            ]
        },
    }


def _handshake_probe(owner: Owner, port: int) -> dict[str, Any]:
    """Readiness = a real TWS API handshake (ib_async), not a TCP connect; it reports to the status."""
    return {
        "exec": {
            "command": [
                "spyops",
                "gateway-probe",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--client-id",
                str(_PROBE_CLIENT_ID),
                "--timeout",
                "8",
                "--gateway",
                owner.name,
                "--namespace",
                owner.namespace,
                "--state-file",
                _PROBE_STATE_FILE,
            ]
        },
        "periodSeconds": 30,
        "timeoutSeconds": 10,
        "failureThreshold": 3,
        "successThreshold": 1,
    }


def _simulator_pod(inputs: GatewayInputs) -> dict[str, Any]:
    spec = inputs.spec
    sim = spec.simulator
    assert sim is not None
    container = {
        "name": "gateway",
        "image": inputs.workload_image,
        "imagePullPolicy": "IfNotPresent",
        # A container that dies at start leaves its last log lines in its status (shown on the CR).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "command": [
            "spyops",
            "gateway-sim",
            "--host",
            "0.0.0.0",
            "--port",
            str(spec.api_port),
            "--control-port",
            str(sim.control_port),
            # The kubelet probes /health on the pod's address: the control API must not stay on loopback.
            "--control-host",
            "0.0.0.0",
            "--scenario",
            sim.scenario,
            "--seed",
            str(sim.seed),
        ],
        "ports": [
            {"name": "api", "containerPort": spec.api_port, "protocol": "TCP"},
            {"name": "control", "containerPort": sim.control_port, "protocol": "TCP"},
        ],
        "readinessProbe": _handshake_probe(inputs.owner, spec.api_port),
        "livenessProbe": http_probe("/health", "control", period=10, failure_threshold=3),
        "resources": resources(spec.resources, _SIM_RESOURCES),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/spyops"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, the only writable scratch space
            _TOKEN_MOUNT,
        ],
    }
    return {
        "securityContext": pod_security_context(),
        "serviceAccountName": gateway_account_name(inputs.owner.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 10,
        "containers": [container],
        # The simulator keeps no state worth a volume claim; an emptyDir also schedules on any node.
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}, _token_volume()],
    }


def _ib_gateway_pod(inputs: GatewayInputs) -> dict[str, Any]:
    spec = inputs.spec
    creds = spec.credentials_secret_ref
    assert creds is not None  # the CRD refuses a real gateway without credentials
    relay = _IBG_RELAY_PORT[spec.trading_mode]
    gateway = {
        "name": "gateway",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        # A container that dies at start leaves its last log lines in its status (shown on the CR).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "env": [
            {
                "name": "TWS_USERID",
                "valueFrom": {"secretKeyRef": {"name": creds.name, "key": creds.username_key}},
            },
            {
                "name": "TWS_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": creds.name, "key": creds.password_key}},
            },
            {"name": "TRADING_MODE", "value": spec.trading_mode.value},
            {"name": "READ_ONLY_API", "value": "no"},
            {"name": "TIME_ZONE", "value": spec.restart_window.timezone},
            {"name": "TZ", "value": spec.restart_window.timezone},
            {"name": "AUTO_RESTART_TIME", "value": _to_12h(spec.restart_window.time)},
        ],
        "ports": [{"name": "api", "containerPort": relay, "protocol": "TCP"}],
        "livenessProbe": {
            "tcpSocket": {"port": "api"},
            "initialDelaySeconds": 120,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
            "successThreshold": 1,
        },
        "resources": resources(spec.resources, _IBG_RESOURCES),
        # IB Gateway writes its settings and IBC files under its home: no read-only root here.
        "securityContext": container_security_context(read_only_root=False),
        "volumeMounts": [{"name": "settings", "mountPath": "/home/ibgateway/Jts"}],
    }
    # The handshake probe runs in a sidecar with the spyops image (the IB image has no Python client);
    # the pod is Ready only when that container is, i.e. when a TWS handshake succeeds.
    probe = {
        "name": "api-probe",
        "image": inputs.workload_image,
        "imagePullPolicy": "IfNotPresent",
        # A container that dies at start leaves its last log lines in its status (shown on the CR).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "command": ["sleep", "infinity"],
        "readinessProbe": _handshake_probe(inputs.owner, relay),
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "192Mi"}},
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "probe-tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir for the probe's memory
            _TOKEN_MOUNT,
        ],
    }
    return {
        "securityContext": pod_security_context(_IBG_UID),
        "serviceAccountName": gateway_account_name(inputs.owner.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "containers": [gateway, probe],
        "volumes": [{"name": "probe-tmp", "emptyDir": {}}, _token_volume()],
    }


def build_statefulset(inputs: GatewayInputs) -> dict[str, Any]:
    owner, spec = inputs.owner, inputs.spec
    labels = gateway_labels(owner)
    pod_spec = _simulator_pod(inputs) if spec.simulator is not None else _ib_gateway_pod(inputs)
    sts_spec: dict[str, Any] = {
        "replicas": 1,
        "serviceName": owner.name,
        "selector": {"matchLabels": gateway_selector(owner.name)},
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if spec.simulator is None:
        claim_spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.storage.size}},
        }
        if spec.storage.storage_class_name:
            claim_spec["storageClassName"] = spec.storage.storage_class_name
        sts_spec["volumeClaimTemplates"] = [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "settings"},
                "spec": claim_spec,
            }
        ]
        sts_spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete", "whenScaled": "Retain"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(owner, owner.name, labels),
        "spec": sts_spec,
    }


def build_service(inputs: GatewayInputs) -> dict[str, Any]:
    owner, spec = inputs.owner, inputs.spec
    ports = [{"name": "api", "port": spec.api_port, "targetPort": "api", "protocol": "TCP"}]
    if spec.simulator is not None:
        ports.append(
            {
                "name": "control",
                "port": spec.simulator.control_port,
                "targetPort": "control",
                "protocol": "TCP",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, owner.name, gateway_labels(owner)),
        "spec": {
            "clusterIP": "None",
            "selector": gateway_selector(owner.name),
            "ports": ports,
        },
    }


def build_network_policy(inputs: GatewayInputs) -> dict[str, Any]:
    """Only the strategy pods (detector, bots) of this namespace reach the gateway."""
    owner, spec = inputs.owner, inputs.spec
    ports: list[dict[str, Any]] = [{"protocol": "TCP", "port": "api"}]
    if spec.simulator is not None:
        ports.append({"protocol": "TCP", "port": "control"})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(owner, f"{owner.name}-gateway", gateway_labels(owner)),
        "spec": {
            "podSelector": {"matchLabels": gateway_selector(owner.name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {TRADING_CLIENT_LABEL: "true"}}}], "ports": ports}
            ],
        },
    }


def build_service_account(inputs: GatewayInputs) -> dict[str, Any]:
    owner = inputs.owner
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(owner, gateway_account_name(owner.name), gateway_labels(owner)),
        "automountServiceAccountToken": False,
    }


def build_status_role(inputs: GatewayInputs) -> dict[str, Any]:
    """The API probe's only right: patch this gateway's status (serverVersion, lastRestart)."""
    owner = inputs.owner
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(owner, gateway_account_name(owner.name), gateway_labels(owner)),
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": ["ibkrgateways/status"],
                "resourceNames": [owner.name],
                "verbs": ["patch"],
            }
        ],
    }


def build_status_role_binding(inputs: GatewayInputs) -> dict[str, Any]:
    owner = inputs.owner
    account = gateway_account_name(owner.name)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(owner, account, gateway_labels(owner)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": owner.namespace}],
    }


def build_gateway_children(inputs: GatewayInputs) -> list[dict[str, Any]]:
    return [
        build_service_account(inputs),
        build_status_role(inputs),
        build_status_role_binding(inputs),
        build_service(inputs),
        build_statefulset(inputs),
        build_network_policy(inputs),
    ]
