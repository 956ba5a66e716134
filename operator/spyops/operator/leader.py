"""Leader election on a coordination.k8s.io Lease (client-go's algorithm), so several replicas can
run and exactly one reconciles. The leader exits when it cannot renew in time; a standby takes
over once the Lease has not been renewed for its full duration (measured on the standby's clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError

from spyops.operator.kube import Kube, is_conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseSettings:
    namespace: str
    name: str
    identity: str
    duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class LeadershipLostError(RuntimeError):
    """This replica could not renew its Lease before the deadline; it must stop reconciling."""


def _micro_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, kube: Kube, settings: LeaseSettings) -> None:
        self.kube = kube
        self.settings = settings
        self._observed: dict[str, Any] | None = None
        self._observed_at = 0.0

    def _spec(self, transitions: int, acquire_time: str | None) -> dict[str, Any]:
        now = _micro_time(dt.datetime.now(dt.UTC))
        return {
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": int(self.settings.duration),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def try_acquire_or_renew(self) -> bool:
        s = self.settings
        lease = await self.kube.get("coordination.k8s.io/v1", "Lease", s.namespace, s.name)
        if lease is None:
            try:
                await self.kube.create(
                    {
                        "apiVersion": "coordination.k8s.io/v1",
                        "kind": "Lease",
                        "metadata": {"name": s.name, "namespace": s.namespace},
                        "spec": self._spec(0, None),
                    }
                )
            except ApiError as exc:
                if is_conflict(exc):
                    return False
                raise
            return True
        spec = lease.get("spec") or {}
        if self._observed is None or self._observed != spec:
            self._observed = spec
            self._observed_at = time.monotonic()
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or s.duration)
        expired = time.monotonic() > self._observed_at + duration
        if holder and holder != s.identity and not expired:
            return False
        ours = holder == s.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
        lease["spec"] = self._spec(transitions, spec.get("acquireTime") if ours else None)
        try:
            await self.kube.replace(lease)
        except ApiError as exc:
            if is_conflict(exc):
                return False
            raise
        return True

    def next_attempt_in(self) -> float:
        """Seconds until a standby should try again: the retry period, or less when the observed Lease
        expires sooner. Without this a standby that polls every 2 s claims an expired Lease up to 2 s
        late, which after a leader's crash adds to the Lease duration the failover waits."""
        retry = self.settings.retry_period
        if self._observed is None:
            return retry
        duration = float(self._observed.get("leaseDurationSeconds") or self.settings.duration)
        until_expiry = self._observed_at + duration - time.monotonic()
        return retry if until_expiry < 0 else max(0.05, min(retry, until_expiry + 0.05))

    async def acquire(self) -> None:
        """Block until this replica holds the Lease."""
        while True:
            try:
                if await self.try_acquire_or_renew():
                    log.info("acquired leader lease", extra={"lease": self.settings.name})
                    return
            except ApiError as exc:
                log.warning("leader election request failed", extra={"error": str(exc)})
            await asyncio.sleep(self.next_attempt_in())

    async def keep(self) -> None:
        """Renew every retry period; raise LeadershipLostError when no renewal succeeded within the deadline."""
        last_renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.retry_period)
            try:
                renewed = await self.try_acquire_or_renew()
            except (ApiError, OSError) as exc:
                log.warning("lease renewal failed", extra={"error": str(exc)})
                renewed = False
            if renewed:
                last_renewed = time.monotonic()
            elif time.monotonic() - last_renewed > self.settings.renew_deadline:
                raise LeadershipLostError(f"could not renew Lease {self.settings.name} within the deadline")

    async def release(self) -> None:
        """Give the Lease up on a clean shutdown so a standby takes over at once."""
        s = self.settings
        lease = await self.kube.get("coordination.k8s.io/v1", "Lease", s.namespace, s.name)
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != s.identity:
            return
        lease["spec"]["holderIdentity"] = None
        lease["spec"]["leaseDurationSeconds"] = 1
        try:
            await self.kube.replace(lease)
        except ApiError as exc:
            log.warning("could not release the leader lease", extra={"error": str(exc)})
