"""Leader election with a ``coordination.k8s.io/v1`` Lease, one per strategy.

A candidate takes the Lease when it is free or expired. Expired means either of:
- client-go's rule: the record has not changed for ``leaseDurationSeconds`` on the
  candidate's own monotonic clock since it last saw it change (no trust in other clocks;
  but it lags the real renewal by up to one poll interval);
- ``renewTime + leaseDurationSeconds`` has passed on the candidate's wall clock, which
  takes over on time as long as node clocks agree within ``margin`` (the holder stops
  trading ``margin`` before that moment; on one node the clocks are the same clock).
Writes use the object's resourceVersion, so two candidates cannot both win a race.

Safety rule for trading: :meth:`LeaderElector.is_leader` is computed at the moment
it is asked, from the start time of the last *successful* renewal. It turns False
once ``lease_duration - margin`` has passed since then, even if the renew loop is
stuck, so a leader that cannot renew stops placing orders before any other
replica can take the Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ElectionTiming:
    lease_duration: float
    renew_interval: float
    margin: float

    @classmethod
    def for_duration(cls, lease_duration: float) -> ElectionTiming:
        # Renew ~10 times per lease; stop trading with a fifth of the lease (>= 1 s) to spare.
        return cls(
            lease_duration=lease_duration,
            renew_interval=max(0.5, lease_duration / 10),
            margin=max(1.0, lease_duration / 5),
        )

    @property
    def trade_window(self) -> float:
        """How long after a successful renewal's start a leader may still trade."""
        return self.lease_duration - self.margin


class LeaderElector:
    def __init__(
        self,
        client: AsyncClient,
        *,
        namespace: str,
        lease_name: str,
        identity: str,
        timing: ElectionTiming,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.lease_name = lease_name
        self.identity = identity
        self.timing = timing
        self._on_change = on_change
        self._clock = clock
        self._renewed_at: float | None = None  # clock() when the last successful write started
        self._observed: tuple[str | None, object] | None = None  # (holder, renewTime) last seen
        self._observed_at = 0.0
        self._was_leader = False
        self.holder: str | None = None
        self.transitions = 0
        self.errors = 0

    def is_leader(self) -> bool:
        renewed = self._renewed_at
        return renewed is not None and self._clock() - renewed < self.timing.trade_window

    def _notify(self) -> None:
        now_leader = self.is_leader()
        if now_leader != self._was_leader:
            self._was_leader = now_leader
            log.info(
                "leadership changed",
                extra={"leader": now_leader, "identity": self.identity, "lease": self.lease_name},
            )
            if self._on_change is not None:
                self._on_change(now_leader)

    async def run(self) -> None:
        """Contend for and keep the Lease until cancelled; releases it on the way out."""
        try:
            while True:
                try:
                    await self.try_acquire_or_renew()
                except (ApiError, OSError, ValueError) as exc:
                    self.errors += 1
                    log.warning("lease update failed", extra={"lease": self.lease_name, "error": str(exc)})
                except Exception as exc:  # httpx transport errors and the like: keep contending
                    self.errors += 1
                    log.warning(
                        "lease update failed", extra={"lease": self.lease_name, "error": repr(exc)[:300]}
                    )
                self._notify()
                await self._sleep_until_next()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release())

    async def _sleep_until_next(self) -> None:
        delay = self.timing.renew_interval
        now = self._clock()
        if self._renewed_at is not None and self.is_leader():
            # Wake when the trade window closes too, so the change is reported promptly.
            delay = min(delay, self.timing.trade_window - (now - self._renewed_at) + 0.01)
        elif self.holder and self._observed is not None:
            # A candidate wakes right when the holder's Lease would expire, to take over on time.
            expires_in = self._observed_at + self.timing.lease_duration - now
            renewed = self._observed[1]
            if isinstance(renewed, dt.datetime):
                by_wall = (
                    _aware(renewed) + dt.timedelta(seconds=self.timing.lease_duration)
                ) - dt.datetime.now(dt.UTC)
                expires_in = min(expires_in, by_wall.total_seconds())
            if expires_in > 0:
                delay = min(delay, expires_in + 0.01)
        await asyncio.sleep(max(0.05, delay))

    async def try_acquire_or_renew(self) -> bool:
        started = self._clock()
        now = dt.datetime.now(dt.UTC)
        try:
            lease = await self._client.get(Lease, self.lease_name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            created = Lease(
                metadata=ObjectMeta(name=self.lease_name, namespace=self.namespace),
                spec=LeaseSpec(
                    holderIdentity=self.identity,
                    leaseDurationSeconds=round(self.timing.lease_duration),
                    acquireTime=now,
                    renewTime=now,
                    leaseTransitions=0,
                ),
            )
            try:
                await self._client.create(created)
            except ApiError as create_exc:
                if create_exc.status.code == 409:  # someone else created it first
                    return False
                raise
            self._won(started, self.identity)
            return True

        spec = lease.spec or LeaseSpec()
        record = (spec.holderIdentity, spec.renewTime)
        if record != self._observed:
            self._observed = record
            self._observed_at = started
        self.holder = spec.holderIdentity
        duration = float(spec.leaseDurationSeconds or self.timing.lease_duration)
        held_by_other = bool(spec.holderIdentity) and spec.holderIdentity != self.identity
        expired_by_wall = spec.renewTime is not None and now >= _aware(spec.renewTime) + dt.timedelta(
            seconds=duration
        )
        if held_by_other and started - self._observed_at < duration and not expired_by_wall:
            self._renewed_at = None
            return False

        transitions = spec.leaseTransitions or 0
        if spec.holderIdentity != self.identity:
            transitions += 1
            spec.acquireTime = now
        spec.holderIdentity = self.identity
        spec.leaseDurationSeconds = round(self.timing.lease_duration)
        spec.renewTime = now
        spec.leaseTransitions = transitions
        lease.spec = spec
        try:
            await self._client.replace(lease)  # resourceVersion guards the race
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        self._won(started, self.identity)
        self.transitions = transitions
        return True

    def _won(self, started: float, holder: str) -> None:
        self._renewed_at = started
        self.holder = holder

    async def release(self) -> None:
        """Give the Lease up (only if we hold it) so another replica need not wait it out."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        self._notify()
        lease = await self._client.get(Lease, self.lease_name, namespace=self.namespace)
        if lease.spec is None or lease.spec.holderIdentity != self.identity:
            return
        lease.spec.holderIdentity = None
        lease.spec.leaseDurationSeconds = 1
        lease.spec.renewTime = dt.datetime.now(dt.UTC)
        await self._client.replace(lease)
        log.info("lease released", extra={"lease": self.lease_name, "identity": self.identity})


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
