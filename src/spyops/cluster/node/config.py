"""The real node's configuration files, rendered from plain values (no I/O here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CLUSTER_DOMAIN = "cluster.local"
POD_CIDR = "10.244.0.0/16"
POD_GATEWAY = "10.244.0.1"  # the CNI bridge's address in the node's network namespace; CoreDNS listens here
BRIDGE = "cni0"
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


@dataclass(frozen=True)
class NodePaths:
    """Everything the node writes lives under one directory (the cluster's state directory)."""

    root: Path

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    # containerd's state and sockets live on the node's private /run (a socket path under a deep state
    # directory would pass the 108-byte limit); only the node's namespace, where kubelet and `ctr`
    # run, sees them.
    @property
    def containerd_state(self) -> Path:
        return Path("/run/containerd")

    @property
    def containerd_socket(self) -> Path:
        return Path("/run/containerd/containerd.sock")

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd" / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return Path("/var/lib/kubelet")  # inside the node's namespace: a bind mount of root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy-config.yaml"

    @property
    def corefile(self) -> Path:
        return self.root / "Corefile"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def sysctl_dir(self) -> Path:
        return self.root / "sysctl"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def containerd_config(paths: NodePaths, *, sandbox_image: str, runc: Path) -> str:
    """containerd 1.6 (Debian) as a CRI runtime on this kind of host. Why each setting:
    restrict_oom_score_adj: no CAP_SYS_RESOURCE, negative OOM scores are refused;
    hugetlb: hybrid cgroups without a v1 hugetlb hierarchy; SystemdCgroup false: kubelet uses cgroupfs."""
    sections: list[tuple[str, dict[str, object]]] = [
        ("", {"version": 2, "root": paths.containerd_root, "state": paths.containerd_state}),
        ("grpc", {"address": paths.containerd_socket}),
        ("ttrpc", {"address": f"{paths.containerd_socket}.ttrpc"}),
        (
            'plugins."io.containerd.grpc.v1.cri"',
            {
                "sandbox_image": sandbox_image,
                "restrict_oom_score_adj": True,
                "disable_hugetlb_controller": True,
                "tolerate_missing_hugetlb_controller": True,
                "enable_selinux": False,
                "disable_apparmor": True,
                "max_container_log_line_size": 16384,
            },
        ),
        (
            'plugins."io.containerd.grpc.v1.cri".containerd',
            {"snapshotter": "overlayfs", "default_runtime_name": "runc", "discard_unpacked_layers": False},
        ),
        (
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc',
            {"runtime_type": "io.containerd.runc.v2"},
        ),
        (
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options',
            {"SystemdCgroup": False, "BinaryName": runc},
        ),
        ('plugins."io.containerd.grpc.v1.cri".cni', {"bin_dir": CNI_BIN_DIR, "conf_dir": paths.cni_conf_dir}),
    ]
    lines: list[str] = []
    for header, values in sections:
        if header:
            lines.append(f"\n[{header}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def cni_conflist(paths: NodePaths, network: str) -> dict[str, Any]:
    """A bridge network with host-local IPAM (its leases under the node's directory) and portmap."""
    return {
        "cniVersion": "1.0.0",
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,  # pod traffic to the control plane leaves with the node's address
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(paths.cni_ipam_dir),
                    "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


@dataclass(frozen=True)
class KubeletSettings:
    node_ip: str
    ca_file: Path
    serving_cert: Path
    serving_key: Path
    cgroup_root: str


def kubelet_config(paths: NodePaths, settings: KubeletSettings) -> dict[str, Any]:
    """KubeletConfiguration for cgroup v1 hybrid hosts and containerd 1.6 (see the README's real node)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": settings.cgroup_root,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "address": settings.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "tlsCertFile": str(settings.serving_cert),
        "tlsPrivateKeyFile": str(settings.serving_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(settings.ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [POD_GATEWAY],
        "resolvConf": "/etc/resolv.conf",
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "imageServiceEndpoint": f"unix://{paths.containerd_socket}",
        "failSwapOn": False,
        "protectKernelDefaults": False,  # the three sysctls it would rewrite are bind-mounted in its namespace
        "rotateCertificates": False,
        "serializeImagePulls": False,
        # A shared build machine: never evict or garbage-collect because other work fills the disk.
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "syncFrequency": "10s",
        "maxPods": 110,
        "containerLogMaxSize": "10Mi",
        "staticPodPath": "",
    }


def kube_proxy_config(kubeconfig: Path, node_name: str) -> dict[str, Any]:
    """iptables mode, inside the node's network namespace; conntrack left as the kernel has it."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node_name,
        "clusterCIDR": POD_CIDR,
        "bindAddress": "0.0.0.0",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
    }


def corefile(kubeconfig: Path, *, health_port: int = 8080, ready_port: int = 8181) -> str:
    """CoreDNS answering for the cluster domain on the bridge address (what pods get as their resolver)."""
    return f"""\
.:53 {{
    bind {POD_GATEWAY}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
    forward . /etc/resolv.conf
}}
"""


def user_cluster_role(user: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ClusterRole named after ``user`` (a client certificate's CN) and its binding to that user."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": user},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    ]


def dump_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)
