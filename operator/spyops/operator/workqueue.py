"""A controller-runtime style work queue: keys, not events; one reconcile per key at a time.

An object that changes while it is being reconciled is queued once more; a burst of events
for one object collapses into one reconcile; failures retry with per-key exponential backoff.
Keys a watch event queued go before keys a timer queued (a recheck, a retry), as in
controller-runtime's priority queue: with hundreds of objects rolling out at once, their periodic
rechecks wait behind new objects and changes instead of delaying them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from spyops.common.retry import Backoff
from spyops.operator import metrics
from spyops.operator.kube import api_retry_after

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Key:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


# A reconcile returns None (done) or seconds after which to look again.
Reconcile = Callable[[Key], Awaitable[float | None]]

FAILURE_BACKOFF = Backoff(base=0.05, cap=60.0)  # per key; an API server's Retry-After stretches it


RESULTS = ("success", "error", "requeue", "requeue_after")
EVENT, TIMER = 0, 1  # priorities: lower goes first


class WorkQueue:
    def __init__(
        self, name: str, reconcile: Reconcile, workers: int, backoff: Backoff = FAILURE_BACKOFF
    ) -> None:
        self.name = name
        self._backoff = backoff
        self._reconcile = reconcile
        self._workers = workers
        self._queue: asyncio.PriorityQueue[tuple[int, int, Key]] = asyncio.PriorityQueue()
        self._queued: dict[Key, tuple[float, int]] = {}  # when queued, at which priority
        self._sequence = 0  # first in, first out within a priority
        self._processing: set[Key] = set()
        self._dirty: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._reconciled: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.MAX_CONCURRENT.labels(name).set(workers)
        # Every series exists from the start, at 0 (as controller-runtime does): a rate() over errors
        # that never happened is 0, not "no data", for dashboards and alerts alike.
        metrics.RECONCILE_ERRORS.labels(name)
        metrics.RECONCILED_OBJECTS.labels(name).set(0)
        for result in RESULTS:
            metrics.RECONCILE_TOTAL.labels(name, result)

    def add(self, key: Key, priority: int = EVENT) -> None:
        metrics.QUEUE_ADDS.labels(self.name).inc()
        if key in self._processing:
            self._dirty.add(key)
            return
        queued = self._queued.get(key)
        if queued is not None and queued[1] <= priority:
            return
        # New, or queued by a timer and now by an event: (re)enter at this priority; the older
        # entry is skipped when it comes up.
        self._queued[key] = (queued[0] if queued else time.monotonic(), priority)
        self._sequence += 1
        self._idle.clear()
        self._queue.put_nowait((priority, self._sequence, key))
        metrics.QUEUE_DEPTH.labels(self.name).set(len(self._queued))

    def add_after(self, key: Key, delay: float) -> None:
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        due = loop.time() + delay
        if existing is not None and existing.when() <= due:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key, TIMER)

    def forget(self, key: Key) -> None:
        self._failures.pop(key, None)
        if key in self._reconciled:
            self._reconciled.discard(key)
            metrics.RECONCILED_OBJECTS.labels(self.name).set(len(self._reconciled))
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def start(self) -> None:
        for index in range(self._workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"{self.name}-worker-{index}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for timer in self._timers.values():
            timer.cancel()

    @property
    def depth(self) -> int:
        return len(self._queued) + len(self._processing)

    async def _work(self) -> None:
        active = metrics.ACTIVE_WORKERS.labels(self.name)
        while True:
            priority, _, key = await self._queue.get()
            queued = self._queued.get(key)
            if queued is None or queued[1] != priority:
                continue  # superseded by an entry at a higher priority
            del self._queued[key]
            enqueued = queued[0]
            metrics.QUEUE_DEPTH.labels(self.name).set(len(self._queued))
            metrics.QUEUE_LATENCY.labels(self.name).observe(time.monotonic() - enqueued)
            self._processing.add(key)
            active.inc()
            started = time.monotonic()
            try:
                requeue_after = await self._reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = self._backoff.delay(failures - 1, api_retry_after(exc))
                metrics.RECONCILE_TOTAL.labels(self.name, "error").inc()
                metrics.RECONCILE_ERRORS.labels(self.name).inc()
                metrics.QUEUE_RETRIES.labels(self.name).inc()
                log.warning(
                    "reconcile failed, retrying",
                    extra={
                        "key": str(key),
                        "error": f"{type(exc).__name__}: {exc}",
                        "retry_in": round(delay, 3),
                    },
                )
                self.add_after(key, delay)
            else:
                self._failures.pop(key, None)
                if key not in self._reconciled:
                    self._reconciled.add(key)
                    metrics.RECONCILED_OBJECTS.labels(self.name).set(len(self._reconciled))
                if requeue_after is None:
                    metrics.RECONCILE_TOTAL.labels(self.name, "success").inc()
                else:
                    metrics.RECONCILE_TOTAL.labels(self.name, "requeue_after").inc()
                    self.add_after(key, requeue_after)
            finally:
                metrics.RECONCILE_TIME.labels(self.name).observe(time.monotonic() - started)
                active.dec()
                self._processing.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)
                if not self._queued and not self._processing:
                    self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()
