"""`spyops detector`: the detector service.

Market data in (``MarketFeed``: the IB gateway through ib_async), a scan after every
batch of quote changes (coalesced: at most one scan per ``min_scan_interval`` of wall
time), one signal per anomaly episode (``SignalTracker``) out to the bots' stream
(``SignalLog``, at-least-once, resumable) and, durably, to the backend (the outbox).
The latest chain snapshot goes to the backend directly, at most once a second, best
effort. The runtime config is reloaded without a restart.

Tracing (when configured): each signal is one trace, rooted at ``detector.signal`` (the signal id,
rule, strategy and whether it is tradable as attributes), with ``detector.quote_update`` (from the
culprit's quote change to the scan), ``detector.scan`` and ``detector.publish``, whose
``traceparent`` travels in the stream's record to the bots, and ``outbox.enqueue`` toward the
backend. Scans that find nothing make no spans. ``/health``, ``/ready`` and
``/metrics`` are served on the probe port, the signal stream on the stream port.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiohttp import web
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from prometheus_client import CollectorRegistry

from spyops.common import tracing
from spyops.common.config_watch import ConfigWatcher
from spyops.common.probes import ProbeServer, ReadinessCheck, readiness_body
from spyops.detector.config import DetectorConfig, load_detector_config
from spyops.detector.market_feed import FeedTarget, MarketFeed
from spyops.detector.metrics import DetectorMetrics
from spyops.detector.rules import Finding, scan_chain
from spyops.detector.tracker import SignalTracker, build_signal
from spyops.market.chain import ChainArrays
from spyops.outbox.sender import OutboxMetrics, OutboxSender
from spyops.outbox.store import OutboxStore
from spyops.schemas import AnomalyKind, OutboundMode, OutboundSettings, Signal
from spyops.signalstream import SignalLog, add_signal_stream

log = logging.getLogger("spyops.detector.service")

CHAIN_PATH = "/v1/chain"


@dataclass(frozen=True)
class ServiceOptions:
    config_path: Path
    outbox_path: Path
    host: str = "0.0.0.0"
    probe_port: int = 8080
    stream_port: int = 8090
    min_scan_interval: float = 0.05  # coalesce quote bursts: at most ~20 scans a second
    config_poll_interval: float = 1.0
    chain_post_interval: float = 1.0
    liveness_stale_after: float = 30.0


class DetectorService:
    """Start with :meth:`start`, stop with :meth:`stop`; everything runs in the caller's loop."""

    def __init__(self, options: ServiceOptions, registry: CollectorRegistry | None = None) -> None:
        self.options = options
        self.config, self.params = load_detector_config(options.config_path)
        self.registry = registry or CollectorRegistry()
        self.metrics = DetectorMetrics(self.registry)
        self.metrics.line_budget.set(self.config.detector.max_market_data_lines)
        self.tracker = SignalTracker(self.config.detector.clear_after_snapshots)
        self.signal_log = SignalLog()
        self.store = OutboxStore(options.outbox_path)
        self.sender = OutboxSender(
            self.store, self.config.outbound, metrics=OutboxMetrics(self.registry, component="detector")
        )
        self.feed = MarketFeed(
            FeedTarget(self.config.gateway, self.config.underlying),
            lambda: self.config.detector,
            self.metrics,
            self._book_changed,
        )
        self.watcher = ConfigWatcher(
            options.config_path,
            DetectorConfig(self.config, self.params),
            load_detector_config,
            self._apply_config,
            on_error=self._config_rejected,
        )
        self._dirty = asyncio.Event()
        self._scanned_generation = -1  # the feed generation the last scan saw in sync
        self._last_chain: ChainArrays | None = None
        self._last_findings: list[Finding] = []
        self._publish_queue: asyncio.Queue[tuple[Signal, Span | None]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.readiness_checks: dict[str, ReadinessCheck] = {
            "market data": self.market_data_ready,
            "scan": self.scan_ready,
        }
        self.probes = ProbeServer(
            self.readiness_checks, stale_after=options.liveness_stale_after, registry=self.registry
        )
        self._stream_runner: web.AppRunner | None = None
        self.stream_port: int | None = None
        self.probe_port: int | None = None
        self._last_chain_post_version = -1

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        o = self.options
        if o.stream_port == o.probe_port and o.stream_port != 0:
            add_signal_stream(self.probes.app, self.signal_log)
            self.probe_port = self.stream_port = await self.probes.start(o.host, o.probe_port)
        else:
            stream_app = web.Application()
            add_signal_stream(stream_app, self.signal_log)
            self._stream_runner = web.AppRunner(stream_app, access_log=None)
            await self._stream_runner.setup()
            site = web.TCPSite(self._stream_runner, o.host, o.stream_port)
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            self.stream_port = int(sockets[0].getsockname()[1]) if sockets else o.stream_port
            self.probe_port = await self.probes.start(o.host, o.probe_port)
        for name, coro in (
            ("detector-feed", self.feed.run()),
            ("detector-scan", self._scan_loop()),
            ("detector-publish", self._publish_loop()),
            ("detector-outbox", self.sender.run()),
            ("detector-config", self._config_loop()),
            ("detector-chain-post", self._chain_post_loop()),
            ("detector-heartbeat", self._heartbeat_loop()),
        ):
            self._tasks.append(asyncio.create_task(coro, name=name))
        log.info(
            "detector started",
            extra={
                "strategy": self.config.strategy,
                "gateway": f"{self.config.gateway.host}:{self.config.gateway.port}",
                "client_id": self.config.gateway.client_id_base,
                "probe_port": self.probe_port,
                "stream_port": self.stream_port,
                "epoch": self.signal_log.epoch,
            },
        )

    async def stop(self) -> None:
        self.sender.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._stream_runner is not None:
            await self._stream_runner.cleanup()
            self._stream_runner = None
        await self.probes.stop()
        self.store.close()
        log.info("detector stopped")

    # -- readiness ------------------------------------------------------------------------

    def market_data_ready(self) -> tuple[bool, str]:
        ready, reason = self.feed.readiness()
        return (True, f"streaming {self.feed.lines_in_use} lines") if ready else (False, reason)

    def scan_ready(self) -> tuple[bool, str]:
        if self._scanned_generation != self.feed.generation:
            return False, "waiting for the first scan of the subscribed chain"
        return True, f"{self.signal_log.last_seq} signals published"

    def readiness(self) -> tuple[bool, str]:
        """What /ready answers, as (ready, reason)."""
        ready, body = readiness_body(self.readiness_checks)
        return ready, str(body["reason"])

    # -- scanning -------------------------------------------------------------------------

    def _book_changed(self) -> None:
        self._dirty.set()

    async def _scan_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            started = loop.time()
            try:
                self.scan_once()
            except Exception:  # the loop must outlive any one bad snapshot
                self.metrics.scan_failures.inc()
                log.exception("scan failed")
            rest = self.options.min_scan_interval - (loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    def scan_once(self) -> list[Signal]:
        """Scan the book as it is now; queue and return the signals of newly opened episodes."""
        book = self.feed.book
        if book is None:
            return []
        generation = self.feed.generation if self.feed.subscribed else None
        ts = self.feed.now()
        scan_started_ns = time.time_ns()
        t0 = time.perf_counter()
        chain = book.arrays(ts)
        if chain is None:
            return []
        findings = scan_chain(chain, self.params)
        emitted = self.tracker.update(chain, findings)
        scan_ended_ns = time.time_ns()
        self.metrics.scan_seconds.observe(time.perf_counter() - t0)
        self.metrics.scans.inc()
        self._last_chain, self._last_findings = chain, findings
        if generation is not None:
            self._scanned_generation = generation
        signals = []
        detected_at = dt.datetime.now(dt.UTC)
        for item in emitted:
            signal = build_signal(
                item.finding,
                chain,
                episode_start=item.episode_start,
                detected_at=detected_at,
                strategy=self.config.strategy,
            )
            self.metrics.anomalies.labels(signal.rule.value).inc()
            changed_local_ns: int | None = None
            if signal.rule is not AnomalyKind.STALE_QUOTE:  # a stale quote's age is the finding
                changed_ns = int(chain.quote_ts_ns[item.finding.culprit])
                gateway_now_ns = self.feed.now_ns()
                self.metrics.detection_delay.observe(max(gateway_now_ns - changed_ns, 0) / 1e9)
                # The quote's time is on the gateway's clock; spans are on ours.
                changed_local_ns = changed_ns - (gateway_now_ns - time.time_ns())
            span = (
                _signal_span(signal, changed_local_ns, scan_started_ns, scan_ended_ns, len(findings))
                if tracing.enabled()
                else None
            )
            self._publish_queue.put_nowait((signal, span))
            signals.append(signal)
        return signals

    async def _publish_loop(self) -> None:
        """Stream first (the bots are waiting), then the durable outbox, in detection order."""
        while True:
            signal, span = await self._publish_queue.get()
            with (
                trace.use_span(span, end_on_exit=True) if span is not None else contextlib.nullcontext(),
                tracing.tracer().start_as_current_span("detector.publish") as publish,
            ):
                await self.signal_log.append(signal, tracing.traceparent(publish))
                self.metrics.signals_published.inc()
                self.metrics.last_signal.set(time.time())
                log.info(
                    "signal published",
                    extra={
                        "id": signal.id,
                        "rule": signal.rule.value,
                        "culprit": signal.culprit.key,
                        "edge": signal.edge,
                        "tradable": signal.suggested_order is not None,
                    },
                )
                try:
                    await self.sender.submit("signal", signal)
                except Exception:
                    self.metrics.outbox_failures.inc()
                    log.exception("signal not written to the outbox", extra={"id": signal.id})

    # -- config ---------------------------------------------------------------------------

    async def _config_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.config_poll_interval)
            try:
                self.watcher.poll()
            except Exception:
                self.metrics.config_errors.inc()
                log.exception("config reload failed; keeping the previous config")

    def _config_rejected(self, _error: str) -> None:
        self.metrics.config_errors.inc()

    def _apply_config(self, old_config: DetectorConfig, new_config: DetectorConfig) -> None:
        old, new = old_config.runtime, new_config.runtime
        self.config = new
        self.params = new_config.params
        self.metrics.config_reloads.inc()
        self.metrics.line_budget.set(new.detector.max_market_data_lines)
        if new.detector.clear_after_snapshots != old.detector.clear_after_snapshots:
            # A new tracker with the open episodes of the last snapshot, so anomalies that are
            # still there do not fire again under new ids.
            tracker = SignalTracker(new.detector.clear_after_snapshots)
            if self._last_chain is not None:
                tracker.update(self._last_chain, self._last_findings)
            self.tracker = tracker
        if new.outbound != old.outbound:
            self.sender.set_outbound(new.outbound)
        if (
            new.detector.max_market_data_lines != old.detector.max_market_data_lines
            or new.detector.strike_window != old.detector.strike_window
        ):
            self.feed.request_resync()
        self.feed.set_target(FeedTarget(new.gateway, new.underlying))

    # -- chain snapshots to the backend ---------------------------------------------------

    @staticmethod
    def _chain_target(outbound: OutboundSettings) -> str | None:
        if outbound.mode is OutboundMode.DIRECT:
            return outbound.backend_url or None
        if outbound.mode is OutboundMode.BACKUP:
            return outbound.backup_url or None
        return None  # buffering: nothing leaves the edge

    async def _chain_post_loop(self) -> None:
        async with httpx.AsyncClient(timeout=min(2.0, self.options.chain_post_interval * 2)) as client:
            while True:
                await asyncio.sleep(self.options.chain_post_interval)
                try:
                    await self._post_chain(client)
                except Exception as exc:  # best effort: the next second brings a newer one
                    self.metrics.chain_posts.labels("error").inc()
                    log.debug("chain snapshot not posted", extra={"error": str(exc) or type(exc).__name__})

    async def _post_chain(self, client: httpx.AsyncClient) -> None:
        outbound = self.config.outbound
        target = self._chain_target(outbound)
        book = self.feed.book
        if target is None or book is None or not self.feed.connected:
            return
        if book.version == self._last_chain_post_version:
            return
        version = book.version
        snapshot = book.snapshot(self.feed.now())
        if snapshot is None:
            return
        headers = {"Content-Type": "application/json"}
        if outbound.token_file:
            token = (await asyncio.to_thread(Path(outbound.token_file).read_text, encoding="utf-8")).strip()
            if token:
                headers["Authorization"] = f"Bearer {token}"
        response = await client.post(
            target.rstrip("/") + CHAIN_PATH, content=snapshot.model_dump_json(), headers=headers
        )
        if 200 <= response.status_code < 300:
            self._last_chain_post_version = version
            self.metrics.chain_posts.labels("ok").inc()
        else:
            self.metrics.chain_posts.labels(f"http_{response.status_code}").inc()

    # -- liveness -------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            self.probes.beat()
            await asyncio.sleep(1.0)


def _signal_span(
    signal: Signal, changed_ns: int | None, scan_started_ns: int, scan_ended_ns: int, findings: int
) -> Span:
    """The root of a signal's trace, begun at the quote change that revealed it; ended after publish.

    Made after the scan (only a scan that opens an episode deserves a trace), so its children carry
    the times measured during the scan.
    """
    tracer = tracing.tracer()
    started = min(changed_ns, scan_started_ns) if changed_ns is not None else scan_started_ns
    root = tracer.start_span(
        "detector.signal",
        context=Context(),
        start_time=started,
        attributes={
            "spyops.signal.id": signal.id,
            "spyops.strategy": signal.strategy,
            "spyops.rule": signal.rule.value,
            "spyops.culprit": signal.culprit.key,
            "spyops.edge": signal.edge,
            tracing.TRADABLE: signal.suggested_order is not None,
        },
    )
    parent = trace.set_span_in_context(root)
    if changed_ns is not None:
        quote = tracer.start_span(
            "detector.quote_update",
            context=parent,
            start_time=started,
            attributes={"spyops.culprit": signal.culprit.key},
        )
        quote.end(end_time=max(started, scan_started_ns))
    scan = tracer.start_span(
        "detector.scan", context=parent, start_time=scan_started_ns, attributes={"spyops.findings": findings}
    )
    scan.end(end_time=scan_ended_ns)
    return root
