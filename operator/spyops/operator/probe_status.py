"""What `spyops gateway-probe --gateway NAME` writes to its IBKRGateway's status, and when.

The probe runs in the gateway pod (the readiness probe: one real TWS handshake every period), so
it is the component that knows the negotiated server version and when the gateway came back.
Each run is a new process; what it saw last time is kept in a small JSON file on the pod's
scratch volume. ``lastRestart`` is the time of the first successful handshake after the gateway
was not serving the API: a failed handshake since the last success, no earlier success (a new
pod), or no success for longer than ``restart_gap`` (the probe did not run, so neither did the
pod). The status is patched only when ``serverVersion`` or ``lastRestart`` change, or when the
previous patch did not go through.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

STATUS_FIELDS = ("serverVersion", "lastRestart")


@dataclass(frozen=True)
class ProbeMemory:
    last_success: dt.datetime | None = None
    last_failure: dt.datetime | None = None
    server_version: int | None = None
    last_restart: dt.datetime | None = None
    reported: bool = False  # the status carries server_version and last_restart

    def to_json(self) -> dict[str, Any]:
        def iso(moment: dt.datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "lastSuccess": iso(self.last_success),
            "lastFailure": iso(self.last_failure),
            "serverVersion": self.server_version,
            "lastRestart": iso(self.last_restart),
            "reported": self.reported,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeMemory:
        def moment(key: str) -> dt.datetime | None:
            value = data.get(key)
            return None if value is None else dt.datetime.fromisoformat(str(value))

        version = data.get("serverVersion")
        return cls(
            last_success=moment("lastSuccess"),
            last_failure=moment("lastFailure"),
            server_version=None if version is None else int(version),
            last_restart=moment("lastRestart"),
            reported=bool(data.get("reported", False)),
        )


def after_failure(memory: ProbeMemory, now: dt.datetime) -> ProbeMemory:
    return replace(memory, last_failure=now)


def after_report(memory: ProbeMemory) -> ProbeMemory:
    """The status now carries what the memory says."""
    return replace(memory, reported=True)


def after_success(
    memory: ProbeMemory, now: dt.datetime, server_version: int, restart_gap: dt.timedelta
) -> tuple[ProbeMemory, dict[str, Any] | None]:
    """The memory after a successful handshake, and the status patch to send (None: nothing new)."""
    last = memory.last_success
    restarted = (
        last is None
        or (memory.last_failure is not None and memory.last_failure > last)
        or now - last > restart_gap
        or memory.last_restart is None
    )
    last_restart = now if restarted else memory.last_restart
    changed = restarted or server_version != memory.server_version
    updated = ProbeMemory(
        last_success=now,
        last_failure=memory.last_failure,
        server_version=server_version,
        last_restart=last_restart,
        reported=memory.reported and not changed,
    )
    if updated.reported:
        return updated, None
    assert last_restart is not None
    stamp = last_restart.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return updated, {"status": {"serverVersion": server_version, "lastRestart": stamp}}


def load(path: Path) -> ProbeMemory:
    """What the previous run saw; nothing (a new pod) when the file is missing or unreadable."""
    try:
        return ProbeMemory.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return ProbeMemory()


def save(path: Path, memory: ProbeMemory) -> None:
    """Atomically, so a probe killed at its timeout never leaves half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(memory.to_json()))
    temporary.replace(path)


async def patch_status(namespace: str, name: str, patch: dict[str, Any], kubeconfig: Path | None) -> None:
    """Merge-patch the gateway's status subresource (the pod's ServiceAccount may do only this)."""
    from lightkube import AsyncClient, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.types import PatchType

    gateway = create_namespaced_resource("spyops.io", "v1alpha1", "IBKRGateway", "ibkrgateways")
    config = KubeConfig.from_file(kubeconfig) if kubeconfig is not None else KubeConfig.from_env()
    client = AsyncClient(config=config, namespace=namespace)
    try:
        await client.patch(gateway.Status, name, patch, namespace=namespace, patch_type=PatchType.MERGE)
    finally:
        await client.close()
