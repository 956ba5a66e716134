"""Posts outbox items to the backend in order, in batches, at least once.

Order: items go out in enqueue order across all kinds; a batch is a run of
consecutive items of one kind, and the next batch is sent only after the previous
one was acknowledged with a 2xx. On errors (network, timeout, 401/403, 408, 429,
5xx) the same batch is retried with the shared backoff (``spyops.common.retry``: full jitter;
a Retry-After in seconds or as an HTTP-date is honoured, capped at ``backoff_max_seconds``).
A 400/413/422 for a batch is retried item by item; an item the backend still
refuses alone is moved to the dead-letter table (kept, counted, logged) so it does
not block everything behind it.

Tracing: each item keeps the trace context it was enqueued in (span ``outbox.enqueue``); every send
attempt is a span in that trace: ``outbox.send``, or ``outbox.replay`` for an item that waited through
an outage (failed sends or buffering), linked to its previous attempt (or to its enqueue if it had
none). So a trace survives an outage: continued, linked, not restarted. The request carries the
attempt's ``traceparent``.

The outbound mode comes from the runtime config and may change at any time
(:meth:`OutboxSender.set_outbound`): ``direct`` sends to ``backend_url``,
``backup`` to ``backup_url``, ``buffering`` sends nothing and keeps everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from pydantic import BaseModel

from spyops.common import tracing
from spyops.common.retry import Backoff, retry_after_from
from spyops.outbox.store import ITEM_KINDS, OutboxItem, OutboxStore
from spyops.schemas import OutboundMode, OutboundSettings

log = logging.getLogger("spyops.outbox")

_RETRYABLE = {401, 403, 404, 408, 409, 425, 429}
_INVALID = {400, 413, 422}


@dataclass(frozen=True)
class SenderSettings:
    batch_size: int = 100
    request_timeout_seconds: float = 10.0
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    idle_poll_seconds: float = 5.0  # re-check the store even without a wake-up
    verify: bool | str = True  # CA bundle for an https backend


def _tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx wants an SSLContext for a private CA bundle."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class OutboxMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY, component: str = "") -> None:
        self.component = component
        self.pending = Gauge(
            "spyops_outbox_pending", "Items waiting in the outbox.", ["component", "kind"], registry=registry
        )
        self.oldest_age = Gauge(
            "spyops_outbox_oldest_age_seconds",
            "Age of the oldest pending item.",
            ["component"],
            registry=registry,
        )
        self.sent = Counter(
            "spyops_outbox_sent_total",
            "Items acknowledged by the backend.",
            ["component", "kind"],
            registry=registry,
        )
        self.failures = Counter(
            "spyops_outbox_send_failures_total",
            "Failed send attempts.",
            ["component", "reason"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "spyops_outbox_dead_letters_total",
            "Items the backend refused as invalid.",
            ["component"],
            registry=registry,
        )
        self.mode = Gauge(
            "spyops_outbox_mode", "1 for the current outbound mode.", ["component", "mode"], registry=registry
        )

    def refresh(self, store: OutboxStore) -> None:
        counts = store.pending_count()
        for kind in ITEM_KINDS:
            self.pending.labels(self.component, kind).set(counts.get(kind, 0))
        oldest = store.oldest_created_at()
        self.oldest_age.labels(self.component).set(
            max(0.0, time.time() - oldest) if oldest is not None else 0.0
        )

    def set_mode(self, mode: OutboundMode) -> None:
        for m in OutboundMode:
            self.mode.labels(self.component, m.value).set(1 if m is mode else 0)


class _SendFailedError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.invalid = invalid


def _item_attributes(kind: str, item: BaseModel | Mapping[str, Any], item_id: str | None) -> dict[str, str]:
    """Span attributes that find the item: its id, and the signal id / orderRef / strategy it carries."""

    def field(name: str) -> object:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)

    attributes = {"spyops.outbox.kind": kind}
    ident = item_id or field("id")
    if isinstance(ident, str):
        attributes["spyops.outbox.item_id"] = ident
    for key, name in (
        ("spyops.signal.id", "id" if kind == "signal" else "signal_id"),
        ("spyops.order_ref", "order_ref"),
        ("spyops.strategy", "strategy"),
    ):
        value = field(name)
        if isinstance(value, str) and value:
            attributes[key] = value
    return attributes


def _previous_attempt(item: OutboxItem, replay: bool) -> list[Link]:
    """A replay links to the item's last attempt (or, if it waited without one, to its enqueue)."""
    if not replay:
        return []
    if item.attempt_traceparent:
        return tracing.links_to([item.attempt_traceparent], {"spyops.link": "previous_attempt"})
    return tracing.links_to([item.traceparent], {"spyops.link": "enqueued"})


def _item_attempt_span(name: str, item: OutboxItem, replay: bool, request: str) -> Span:
    """The attempt of a batched item (not the first) in its own trace, linked to the batch's request."""
    return tracing.tracer().start_span(
        name,
        context=tracing.context_from(item.traceparent) or Context(),
        kind=SpanKind.CLIENT,
        links=[
            *_previous_attempt(item, replay),
            *tracing.links_to([request], {"spyops.link": "batch_request"}),
        ],
        attributes={
            "spyops.outbox.kind": item.kind,
            "spyops.outbox.item_id": item.item_id,
            "spyops.outbox.attempt": item.attempts + 1,
            "spyops.outbox.replay": replay,
        },
    )


class OutboxSender:
    """Run with ``await sender.run()`` as a task; ``stop()`` ends it after the request in flight."""

    def __init__(
        self,
        store: OutboxStore,
        outbound: OutboundSettings,
        settings: SenderSettings | None = None,
        metrics: OutboxMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or SenderSettings()
        self.metrics = metrics or OutboxMetrics()
        self._outbound = outbound
        self._wake = asyncio.Event()
        self._stopping = False
        self._transport = transport
        self._failures = 0  # consecutive failed steps: the backoff's attempt number
        # An outage (buffering, or sends failing) began at _outage_since; when the link comes back,
        # every item enqueued before that moment waited through it, and its send is a replay.
        self._outage_since: float | None = None
        self._recovered_at = 0.0
        self.last_error = ""
        self.metrics.set_mode(outbound.mode)

    # -- control ------------------------------------------------------------------------

    @property
    def outbound(self) -> OutboundSettings:
        return self._outbound

    def set_outbound(self, outbound: OutboundSettings) -> None:
        """Apply a reloaded runtime config's outbound section (mode, URLs, token file)."""
        if outbound != self._outbound:
            log.info(
                "outbound changed",
                extra={"from": self._outbound.mode.value, "to": outbound.mode.value},
            )
        self._outbound = outbound
        self._failures = 0
        self.metrics.set_mode(outbound.mode)
        self._wake.set()

    async def submit(
        self, kind: str, item: BaseModel | Mapping[str, Any], item_id: str | None = None
    ) -> int | None:
        """Enqueue durably (off the event loop), then wake the sender; see :meth:`OutboxStore.enqueue`."""
        with tracing.tracer().start_as_current_span(
            "outbox.enqueue", attributes=_item_attributes(kind, item, item_id)
        ) as span:
            seq = await self.store.enqueue_async(kind, item, item_id, tracing.traceparent(span))
        self._wake.set()
        return seq

    def snapshot(self) -> dict[str, Any]:
        """State for a workload's /ready or debug endpoint (no URLs' credentials, no token)."""
        oldest = self.store.oldest_created_at()
        return {
            "mode": self._outbound.mode.value,
            "pending": self.store.pending_count(),
            "oldestAgeSeconds": round(time.time() - oldest, 3) if oldest is not None else 0.0,
            "lastError": self.last_error,
        }

    def wake(self) -> None:
        """Tell the sender new items are waiting (producers call this after enqueue)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # -- loop ---------------------------------------------------------------------------

    def _target(self) -> str | None:
        o = self._outbound
        if o.mode is OutboundMode.DIRECT:
            return o.backend_url or None
        if o.mode is OutboundMode.BACKUP:
            return o.backup_url or None
        return None

    def _token(self) -> str | None:
        # Read at every send, so a rotated Secret takes effect without a restart.
        path = self._outbound.token_file
        if not path:
            return None
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise _SendFailedError(f"token_file: cannot read the token file ({exc.strerror})") from exc

    async def _sleep_or_wake(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self.settings.request_timeout_seconds,
            verify=_tls_verify(self.settings.verify),
            transport=self._transport,
        ) as client:
            while not self._stopping:
                try:
                    await self._step(client)
                except _SendFailedError as exc:
                    await self._after_failure(exc)
                except Exception as exc:  # e.g. disk full: keep the task alive, keep the items
                    log.exception("outbox sender step failed")
                    await self._after_failure(_SendFailedError(f"internal: {type(exc).__name__}"))
            await asyncio.to_thread(self.metrics.refresh, self.store)

    async def _step(self, client: httpx.AsyncClient) -> None:
        await asyncio.to_thread(self.metrics.refresh, self.store)
        target = self._target()
        if target is None:
            self._outage_began()
            await self._sleep_or_wake(self.settings.idle_poll_seconds)
            return
        batch = await asyncio.to_thread(self.store.head_batch, self.settings.batch_size)
        if not batch:
            await self._sleep_or_wake(self.settings.idle_poll_seconds)
            return
        await self._deliver(client, target, batch)
        self._failures = 0
        self.last_error = ""

    async def _after_failure(self, exc: _SendFailedError) -> None:
        s = self.settings
        backoff = Backoff(base=s.backoff_initial_seconds, cap=s.backoff_max_seconds)
        delay = backoff.delay(self._failures, exc.retry_after)
        self._failures += 1
        self.last_error = exc.reason
        self.metrics.failures.labels(self.metrics.component, exc.reason.split(":")[0]).inc()
        log.warning("outbox send failed", extra={"reason": exc.reason, "retry_in_s": round(delay, 2)})
        await self._sleep_or_wake(delay)

    async def _post(self, client: httpx.AsyncClient, target: str, batch: list[OutboxItem]) -> None:
        replay = self._outage_since is not None or any(
            i.attempts > 0 or i.created_at <= self._recovered_at for i in batch
        )
        name = "outbox.replay" if replay else "outbox.send"
        first = batch[0]
        # A batch is one request, so one span carries it: in the first item's trace. Every other
        # item gets an attempt span in its own trace, linked to that request, so each trace shows
        # its own attempts; a replay links to the item's previous attempt.
        with tracing.tracer().start_as_current_span(
            name,
            context=tracing.context_from(first.traceparent) or Context(),
            kind=SpanKind.CLIENT,
            links=_previous_attempt(first, replay),
            attributes={
                "spyops.outbox.kind": first.kind,
                "spyops.outbox.items": len(batch),
                "spyops.outbox.item_ids": [i.item_id for i in batch],
                "spyops.outbox.attempt": first.attempts + 1,
                "spyops.outbox.replay": replay,
            },
        ) as span:
            request = tracing.traceparent(span)
            others = (
                [_item_attempt_span(name, item, replay, request) for item in batch[1:]] if request else []
            )
            error: BaseException | None = None
            try:
                await self._post_traced(
                    client, target, batch, request, [request] + [tracing.traceparent(o) for o in others]
                )
            except BaseException as exc:
                error = exc
                if not (isinstance(exc, _SendFailedError) and exc.invalid):  # a refusal is no outage
                    self._outage_began()
                raise
            finally:
                for other in others:
                    if error is not None:
                        other.set_status(Status(StatusCode.ERROR, str(error)[:300]))
                    other.end()
        if self._outage_since is not None:
            self._outage_since = None
            self._recovered_at = time.time()

    def _outage_began(self) -> None:
        if self._outage_since is None:
            self._outage_since = time.time()

    async def _post_traced(
        self,
        client: httpx.AsyncClient,
        target: str,
        batch: list[OutboxItem],
        traceparent: str | None,
        attempt_traceparents: list[str | None],
    ) -> None:
        url = target.rstrip("/") + ITEM_KINDS[batch[0].kind]
        headers = {"Content-Type": "application/json"}
        if traceparent:
            headers["traceparent"] = traceparent
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = ("[" + ",".join(i.payload for i in batch) + "]").encode()
        await asyncio.to_thread(self.store.record_attempt, batch, attempt_traceparents)
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise _SendFailedError("timeout: backend did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise _SendFailedError(f"unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in _INVALID:
            raise _SendFailedError(f"rejected: HTTP {status} {response.text[:200]}", invalid=True)
        if status in _RETRYABLE or status >= 500:
            raise _SendFailedError(
                f"http_{status}: backend answered {status}", retry_after=retry_after_from(response.headers)
            )
        raise _SendFailedError(f"http_{status}: unexpected status {status}")

    async def _deliver(self, client: httpx.AsyncClient, target: str, batch: list[OutboxItem]) -> None:
        try:
            await self._post(client, target, batch)
        except _SendFailedError as exc:
            if not exc.invalid:
                raise
            if len(batch) > 1:
                # Find the item the backend refuses: resend one by one, in order.
                for item in batch:
                    await self._deliver(client, target, [item])
                return
            item = batch[0]
            await asyncio.to_thread(self.store.dead_letter, item, exc.reason)
            self.metrics.dead_letters.labels(self.metrics.component).inc()
            log.error(
                "outbox item refused by the backend; moved to dead letters",
                extra={"kind": item.kind, "id": item.item_id, "reason": exc.reason},
            )
            return
        await asyncio.to_thread(self.store.acknowledge, batch)
        self.metrics.sent.labels(self.metrics.component, batch[0].kind).inc(len(batch))
