"""The embedded API server's audit log, kept to one purpose: counting the requests a client under
observation makes (the operator after a restart must write nothing; on the way to Ready it must stay
within a budget per strategy).

The policy logs only the requests of the ServiceAccounts in one namespace (AUDITED_NAMESPACE), at
Metadata level (no bodies), so every other client of the session cluster costs nothing. A test or
benchmark runs the process it watches with a token of a ServiceAccount there.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.tokens import token_kubeconfig

AUDITED_NAMESPACE = "spyops-audited"
AUDIT_LOG = "audit.log"
POLICY_FILE = "audit-policy.yaml"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("get", "list", "watch")
ALL_VERBS = WRITE_VERBS + READ_VERBS

POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "userGroups": [f"system:serviceaccounts:{AUDITED_NAMESPACE}"],
            "verbs": list(ALL_VERBS),
        },
        {"level": "None"},
    ],
}


def apiserver_audit_flags(state_dir: Path) -> list[str]:
    """kube-apiserver flags for the policy above, writing ``state_dir/audit.log`` synchronously."""
    policy = state_dir / POLICY_FILE
    policy.write_text(yaml.safe_dump(POLICY))
    return [
        f"--audit-policy-file={policy}",
        f"--audit-log-path={state_dir / AUDIT_LOG}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",  # an event is in the file before the response is sent
        "--audit-log-maxsize=0",  # never rotate: a count must see every line
    ]


def audit_log_of(kubeconfig: Path) -> Path:
    """The audit log of the embedded control plane whose admin kubeconfig is ``kubeconfig``."""
    return kubeconfig.parent / AUDIT_LOG


@dataclass(frozen=True)
class Request:
    user: str
    verb: str
    resource: str  # plural, with /subresource when there is one
    namespace: str
    name: str
    code: int
    at: float = 0.0  # when the API server received it, seconds since the epoch


def _received(event: dict[str, object]) -> float:
    stamp = event.get("requestReceivedTimestamp")
    try:
        return dt.datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return 0.0


def parse_requests(
    lines: Iterator[str] | list[str], user: str, verbs: tuple[str, ...] = ALL_VERBS
) -> list[Request]:
    """The requests of ``user`` with one of ``verbs`` among audit log lines, each once (pure): when
    complete, a watch when it started (it completes only when it ends)."""
    found = []
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        verb = event.get("verb")
        counted_stage = "ResponseStarted" if verb == "watch" else "ResponseComplete"
        if event.get("stage") != counted_stage or verb not in verbs:
            continue
        if (event.get("user") or {}).get("username") != user:
            continue
        ref = event.get("objectRef") or {}
        resource = ref.get("resource", "?") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        found.append(
            Request(
                user=user,
                verb=event["verb"],
                resource=resource,
                namespace=ref.get("namespace", ""),
                name=ref.get("name", ""),
                code=int((event.get("responseStatus") or {}).get("code", 0)),
                at=_received(event),
            )
        )
    return found


def parse_writes(lines: Iterator[str] | list[str], user: str) -> list[Request]:
    """The completed write requests of ``user`` among audit log lines (pure)."""
    return parse_requests(lines, user, WRITE_VERBS)


def per_object(requests: list[Request], objects: int) -> dict[str, float]:
    """Requests per object by "verb resource", and their total (pure)."""
    counts = summarize(requests)
    shares = {k: round(v / max(1, objects), 2) for k, v in counts.items()}
    return {**shares, "total": round(len(requests) / max(1, objects), 2)}


def summarize(writes: list[Request]) -> dict[str, int]:
    """Writes counted by "verb resource", sorted, for a report."""
    return dict(sorted(Counter(f"{w.verb} {w.resource}" for w in writes).items()))


class AuditLog:
    """Reads the writes of one user appended to the log after a mark."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: the API server does not write an audit log "
                "(the embedded control plane does; an existing cluster given by KUBECONFIG does not)"
            )
        self.path = path
        self._offset = 0

    def mark(self) -> None:
        self._offset = self.path.stat().st_size

    def writes_since_mark(self, user: str) -> list[Request]:
        return self.requests_since_mark(user, WRITE_VERBS)

    def requests_since_mark(self, user: str, verbs: tuple[str, ...] = ALL_VERBS) -> list[Request]:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        # A line still being written has no newline yet; it belongs to the next read.
        complete = data[: data.rfind(b"\n") + 1].decode()
        return parse_requests(complete.splitlines(), user, verbs)


def service_account_user(name: str) -> str:
    return f"system:serviceaccount:{AUDITED_NAMESPACE}:{name}"


def audited_kubeconfig(admin_kubeconfig: Path, name: str, cluster_role: str, target: Path) -> Path:
    """A kubeconfig for ServiceAccount ``name`` in AUDITED_NAMESPACE, bound to ``cluster_role``: the
    writes made with it land in the audit log under service_account_user(name)."""
    run_kubectl(admin_kubeconfig, "create", "namespace", AUDITED_NAMESPACE, check=False)
    manifests = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": AUDITED_NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{AUDITED_NAMESPACE}-{name}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": AUDITED_NAMESPACE}],
        },
    ]
    run_kubectl(
        admin_kubeconfig,
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}),
    )
    token = run_kubectl(
        admin_kubeconfig, "create", "token", name, "-n", AUDITED_NAMESPACE, "--duration=4h"
    ).stdout.strip()
    return token_kubeconfig(admin_kubeconfig, name, token, target)
