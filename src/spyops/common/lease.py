"""Leader election on a ``coordination.k8s.io/v1`` Lease: the operator's replicas and each strategy's
bot replicas use it so that exactly one of them acts.

The algorithm is client-go's:
- A candidate takes the Lease when it has no holder, or when the holder's record (holder, renewTime)
  has not changed for the record's ``leaseDurationSeconds`` as measured on the candidate's own
  monotonic clock since it last saw the record change. No other node's clock is trusted: renewTime is
  only compared with its previous value, never with the local wall clock, so a holder whose clock is
  hours ahead or behind changes nothing.
- Every write carries the resourceVersion that was read, so two candidates cannot both win a race.
- The holder acts only while ``renew_deadline`` has not passed since the *start* of its last successful
  write (:meth:`LeaderElector.is_leader`, computed when asked). A candidate's clock for that same
  record starts when it reads the written record, which is later, and it waits the longer lease
  duration: the old holder has stopped before anyone else can take over, even if its renew loop is stuck.
- A candidate wakes at the moment the observed record expires instead of a whole retry period later.
- A clean shutdown releases the Lease (no holder, 1 s duration) so another replica takes over at once.
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

# A wake-up planned for an expiry lands just after it, and never sooner than this (no busy loop).
_WAKE_SLACK = 0.01
_MIN_SLEEP = 0.05


@dataclass(frozen=True)
class LeaseTiming:
    duration: float  # leaseDurationSeconds written on the Lease
    renew_interval: float  # the holder renews, and a candidate retries, this often
    renew_deadline: float  # the holder acts this long after the start of its last successful renewal

    def __post_init__(self) -> None:
        if not 0 < self.renew_interval < self.renew_deadline < self.duration:
            raise ValueError(
                f"lease timing needs 0 < renew interval ({self.renew_interval}) < renew deadline "
                f"({self.renew_deadline}) < duration ({self.duration})"
            )

    @classmethod
    def client_go(cls, duration: float = 15.0) -> LeaseTiming:
        """client-go's defaults (also controller-runtime's and Strimzi's): 10 s deadline, 2 s retry."""
        return cls(duration, renew_interval=2.0, renew_deadline=10.0)

    @classmethod
    def for_duration(cls, duration: float) -> LeaseTiming:
        """Renew ~10 times per lease; stop acting with a fifth of the lease (>= 1 s) to spare."""
        return cls(
            duration, renew_interval=max(0.5, duration / 10), renew_deadline=duration - max(1.0, duration / 5)
        )


class LeadershipLostError(RuntimeError):
    """This replica could not renew its Lease before the deadline, or another one holds it now."""


@dataclass(frozen=True)
class Observation:
    """Another holder's record as this candidate last saw it change, on the candidate's monotonic clock."""

    holder: str
    renew_time: object
    duration: float
    seen_at: float

    def expires_in(self, now: float) -> float:
        return self.seen_at + self.duration - now


def observe(
    previous: Observation | None, holder: str, renew_time: object, duration: float, now: float
) -> Observation:
    """The observation after reading a record at ``now``: its clock restarts only when the record changed."""
    if previous is not None and (previous.holder, previous.renew_time) == (holder, renew_time):
        return previous
    return Observation(holder, renew_time, duration, now)


class LeaderElector:
    def __init__(
        self,
        client: AsyncClient,
        *,
        namespace: str,
        lease_name: str,
        identity: str,
        timing: LeaseTiming,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.lease_name = lease_name
        self.identity = identity
        self.timing = timing
        self._on_change = on_change
        self._clock = clock
        self._wall_clock = wall_clock  # only written into the Lease for people to read; never compared
        self._renewed_at: float | None = None  # clock() when the last successful write started
        self._observed: Observation | None = None  # another holder's record
        self._was_leader = False
        self.holder: str | None = None
        self.transitions = 0
        self.errors = 0

    def is_leader(self) -> bool:
        renewed = self._renewed_at
        return renewed is not None and self._clock() - renewed < self.timing.renew_deadline

    def next_attempt_in(self) -> float:
        """Seconds until the next attempt: the renew interval, or less when something happens sooner.

        A leader wakes when its deadline passes, so the change is reported promptly; a candidate wakes
        when the observed record expires, so it does not claim an expired Lease up to a whole interval
        late (which after a leader's crash would add to the failover time)."""
        delay = self.timing.renew_interval
        now = self._clock()
        if self._renewed_at is not None and self.is_leader():
            delay = min(delay, self.timing.renew_deadline - (now - self._renewed_at) + _WAKE_SLACK)
        elif self._observed is not None:
            expires_in = self._observed.expires_in(now)
            if expires_in > 0:
                delay = min(delay, expires_in + _WAKE_SLACK)
        return max(_MIN_SLEEP, delay)

    async def try_acquire_or_renew(self) -> bool:
        """One read and at most one write: True when this replica holds the Lease afterwards."""
        started = self._clock()
        now = self._wall_clock()
        try:
            lease = await self.client.get(Lease, self.lease_name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            return await self._create(started, now)

        spec = lease.spec or LeaseSpec()
        holder = spec.holderIdentity or ""
        duration = float(spec.leaseDurationSeconds or self.timing.duration)
        self.holder = holder or None
        if holder and holder != self.identity:
            self._observed = observe(self._observed, holder, spec.renewTime, duration, started)
            if self._observed.expires_in(started) > 0:
                self._renewed_at = None
                return False
        else:
            self._observed = None

        transitions = spec.leaseTransitions or 0
        if holder != self.identity:
            transitions += 1
            spec.acquireTime = now
        spec.holderIdentity = self.identity
        spec.leaseDurationSeconds = round(self.timing.duration)
        spec.renewTime = now
        spec.leaseTransitions = transitions
        lease.spec = spec
        try:
            await self.client.replace(lease)  # carries the resourceVersion read above
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        self._won(started)
        self.transitions = transitions
        return True

    async def _create(self, started: float, now: dt.datetime) -> bool:
        created = Lease(
            metadata=ObjectMeta(name=self.lease_name, namespace=self.namespace),
            spec=LeaseSpec(
                holderIdentity=self.identity,
                leaseDurationSeconds=round(self.timing.duration),
                acquireTime=now,
                renewTime=now,
                leaseTransitions=0,
            ),
        )
        try:
            await self.client.create(created)
        except ApiError as exc:
            if exc.status.code == 409:  # another candidate created it first
                return False
            raise
        self._won(started)
        return True

    def _won(self, started: float) -> None:
        self._renewed_at = started
        self._observed = None
        self.holder = self.identity

    async def _attempt(self) -> None:
        try:
            await self.try_acquire_or_renew()
        except Exception as exc:  # API errors, transport errors: log, count and keep contending
            self.errors += 1
            log.warning("lease update failed", extra={"lease": self.lease_name, "error": repr(exc)[:300]})

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

    async def acquire(self) -> None:
        """Block until this replica holds the Lease."""
        while True:
            await self._attempt()
            self._notify()
            if self.is_leader():
                return
            await asyncio.sleep(self.next_attempt_in())

    async def keep(self) -> None:
        """Renew until leadership is lost, then raise LeadershipLostError (the caller must stop acting)."""
        while True:
            await asyncio.sleep(self.next_attempt_in())
            await self._attempt()
            self._notify()
            if not self.is_leader():
                raise LeadershipLostError(
                    f"Lease {self.namespace}/{self.lease_name} not renewed within "
                    f"{self.timing.renew_deadline:g}s or taken by {self.holder or 'nobody'}"
                )

    async def run(self) -> None:
        """Contend for and keep the Lease until cancelled; releases it on the way out."""
        try:
            while True:
                await self._attempt()
                self._notify()
                await asyncio.sleep(self.next_attempt_in())
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release())

    async def release(self) -> None:
        """Give the Lease up, if this replica still holds it, so another need not wait it out."""
        if self.holder != self.identity:
            return
        self._renewed_at = None
        self.holder = None
        self._notify()
        lease = await self.client.get(Lease, self.lease_name, namespace=self.namespace)
        if lease.spec is None or lease.spec.holderIdentity != self.identity:
            return
        lease.spec.holderIdentity = None
        lease.spec.leaseDurationSeconds = 1
        lease.spec.renewTime = self._wall_clock()
        await self.client.replace(lease)  # a conflict means someone else wrote it: theirs now
        log.info("lease released", extra={"lease": self.lease_name, "identity": self.identity})
