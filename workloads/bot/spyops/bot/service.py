"""The bot process: wires config, journal, gateway, leader election, risk and execution together.

The hot path (:meth:`BotService.handle_signal`) is synchronous from the signal's
arrival to the last ``placeOrder``: dedupe, gate (leader, READY, reconciled as
leader), risk-check all legs together, write every intent durably, send. No
``await`` in between, so nothing can interleave (a reconciliation, a config
reload) between the decision and the send.

A signal is considered for trading only if it arrives while this replica may
trade. One that arrives otherwise is recorded as SKIPPED and never traded later:
signals are fleeting, and a new leader must not replay its predecessor's past.

Tracing (when configured): a signal from the stream continues the detector's trace (its record's
``traceparent``) as ``bot.signal``, with ``bot.risk`` (the check that refused, or that all passed),
``bot.journal`` and ``bot.place_order`` (the orderRefs); a fill later is ``bot.fill`` and an order
status ``bot.order_update`` under the order's span, each with its ``outbox.enqueue``.

Fault injection (tests only): ``SPYOPS_BOT_CRASH_AT=<point>[:<n>]`` SIGKILLs the
process the n-th time (default 1st) it reaches ``<point>``, one of
``before_journal``, ``after_journal_before_send``, ``after_send_before_ack``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import signal as signals
import sys
import time
from collections.abc import Coroutine, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from lightkube import AsyncClient
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue
from pydantic import ValidationError

from spyops.bot import order_refs
from spyops.bot.execution import Executor
from spyops.bot.gateway import ConnectionState, GatewayConnection, client_id_for
from spyops.bot.journal import Journal, JournalExecution, JournalOrder, OrderIntent, SignalDecision
from spyops.bot.metrics import BotMetrics
from spyops.bot.ratelimit import SlidingWindow
from spyops.bot.risk import (
    CHECKS,
    OrderProposal,
    Quote,
    RiskInput,
    RiskState,
    evaluate,
    units_within_limits,
    within_trading_hours,
    zone,
)
from spyops.bot.status_reporter import BotStatus, StatusReporter
from spyops.common import tracing
from spyops.common.config_watch import ConfigWatcher
from spyops.common.lease import LeaderElector, LeaseTiming
from spyops.common.probes import ProbeServer
from spyops.outbox.sender import OutboxMetrics, OutboxSender
from spyops.outbox.store import OutboxStore
from spyops.schemas import (
    Execution,
    OrderSide,
    OrderUpdate,
    RuntimeConfig,
    Signal,
    TradingState,
    load_runtime_config,
)

log = logging.getLogger(__name__)

_ORDER_TRACES_KEPT = 10_000  # orderRef -> placeOrder span, for fills; the oldest are forgotten


def _risk_attributes(allowed: bool, reason: object, detail: str) -> dict[str, AttributeValue]:
    """The risk span's verdict: the check that refused (and why), or that every check passed."""
    if allowed:
        return {"spyops.risk.allowed": True, "spyops.risk.rule": "all_passed",
                "spyops.risk.checks": [check.__name__ for check in CHECKS]}  # fmt: skip
    return {"spyops.risk.allowed": False, "spyops.risk.rule": str(reason), "spyops.risk.detail": detail[:300]}


CRASH_ENV = "SPYOPS_BOT_CRASH_AT"
CRASH_POINTS = frozenset({"before_journal", "after_journal_before_send", "after_send_before_ack"})
MARKET_TZ = "America/New_York"


class CrashHook:
    """Test-only fault injection: SIGKILL ourselves at a named point (see module docstring)."""

    def __init__(self, spec: str) -> None:
        self.point, self.remaining = "", 0
        if spec:
            point, _, count = spec.partition(":")
            if point not in CRASH_POINTS:
                raise ValueError(f"{CRASH_ENV}={spec!r}: point must be one of {sorted(CRASH_POINTS)}")
            self.point, self.remaining = point, int(count or "1")

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            log.warning("fault injection: killing the process", extra={"point": point})
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signals.SIGKILL)


@dataclass(frozen=True)
class BotOptions:
    config_path: Path
    journal_path: Path
    pod_name: str
    namespace: str
    probe_host: str = "0.0.0.0"
    probe_port: int = 8080
    kubeconfig: Path | None = None
    standalone: bool = False  # no Kubernetes: always leader, no status reports (demo, benchmark)
    client_ordinal: int | None = None
    status_interval: float = 2.0
    outbox_path: Path | None = None  # default: next to the journal

    @property
    def resolved_outbox_path(self) -> Path:
        return self.outbox_path or self.journal_path.with_name("outbox.sqlite3")


class BotService:
    def __init__(self, options: BotOptions, config: RuntimeConfig) -> None:
        from ib_async import IB

        self.options = options
        self.config = config
        self.metrics = BotMetrics()
        self.journal = Journal(options.journal_path)
        self.crash = CrashHook(os.environ.get(CRASH_ENV, ""))
        self.ib = IB()
        self.client_id = client_id_for(
            config.gateway.client_id_base, options.pod_name, options.client_ordinal
        )
        self.orders_window = SlidingWindow(60.0)
        self.messages_window = SlidingWindow(1.0)
        self.last_order_at: dict[str, float] = {}
        self.last_signal_time: dt.datetime | None = None
        self.leader_epoch = 0
        self.reconciled_epoch = -1
        self._standalone_leader = options.standalone
        self.elector: LeaderElector | None = None
        self._background: set[asyncio.Future[None]] = set()
        # Reports enter the outbox in the order they were made (asyncio.Lock wakes waiters FIFO).
        self._outbox_order = asyncio.Lock()
        self._order_traces: dict[str, str] = {}  # orderRef -> traceparent of its placeOrder span
        # Fills bound for the backend go through the durable outbox, so a VPN outage loses none.
        self.outbox = OutboxSender(
            OutboxStore(options.resolved_outbox_path),
            config.outbound,
            metrics=OutboxMetrics(self.metrics.registry, component="bot"),
        )
        self.executor = Executor(
            self.ib,
            self.journal,
            self.metrics,
            strategy=config.strategy,
            settings=lambda: self.config.execution,
            market_today=lambda: self.market_now().astimezone(zone(MARKET_TZ)).date(),
            on_message=self._count_messages,
            on_execution=lambda record: self._spawn(self._report_execution(record)),
            on_order_update=lambda order: self._spawn(self._report_order(order)),
        )
        self.connection = GatewayConnection(
            self.ib,
            host=config.gateway.host,
            port=config.gateway.port,
            client_id=self.client_id,
            reconcile=self._reconcile,
            on_state=self.metrics.set_connection_state,
        )
        self.watcher = ConfigWatcher(
            options.config_path,
            config,
            load_runtime_config,
            self._config_changed,
            on_error=lambda _e: self.metrics.config_errors.inc(),
        )
        self.probes = ProbeServer(
            {"gateway": self.gateway_ready, "config": self.config_ready},
            stale_after=10.0,
            registry=self.metrics.registry,
        )
        self._set_trading_state_metric(config.trading_state)

    # clocks and gates --------------------------------------------------------------------
    def market_now(self) -> dt.datetime:
        return self.connection.market_now()

    def is_leader(self) -> bool:
        if self._standalone_leader:
            return True
        return self.elector is not None and self.elector.is_leader()

    def may_trade(self) -> tuple[bool, str]:
        if not self.is_leader():
            return False, "not_leader"
        if not self.connection.ready:
            return False, "not_ready"
        if self.reconciled_epoch != self.leader_epoch:
            return False, "not_reconciled"
        return True, ""

    def gateway_ready(self) -> tuple[bool, str]:
        if not self.connection.ready:
            return (
                False,
                f"gateway connection {self.connection.state.value} {self.connection.last_error}".strip(),
            )
        return True, "connected, reconciled" + (" (leader)" if self.is_leader() else "")

    def config_ready(self) -> tuple[bool, str]:
        # A rejected change leaves the last good config in force: still ready, but say so.
        if self.watcher.last_error:
            return True, f"last config change rejected: {self.watcher.last_error[:200]}"
        return True, "config loaded"

    def _count_messages(self, n: int) -> None:
        self.messages_window.record(time.monotonic(), n)

    # the hot path --------------------------------------------------------------------------
    def handle_signal(self, signal: Signal) -> SignalDecision | None:
        """Decide one signal and, when allowed, send its orders. None for a duplicate."""
        received = time.monotonic()
        self.metrics.signals_received.inc()
        self.last_signal_time = signal.event_time  # the CRD's lastSignalTime is the event time
        if self.journal.signal_decision(signal.id) is not None:
            self.metrics.signals_skipped.labels("duplicate").inc()
            return None
        if signal.strategy and signal.strategy != self.config.strategy:
            return self._skip(signal, "other_strategy")
        if signal.suggested_order is None:
            return self._skip(signal, "not_tradable")
        allowed, why = self.may_trade()
        if not allowed:
            return self._skip(signal, why)

        config = self.config
        order = signal.suggested_order
        prices = [
            self.executor.limit_price(leg.limit_price, OrderSide(leg.action.value)) for leg in order.legs
        ]
        units = units_within_limits(
            order.quantity,
            [(leg.ratio, price) for leg, price in zip(order.legs, prices, strict=True)],
            config.risk,
        )
        intents = [
            OrderIntent(
                order_ref=order_refs.order_ref(config.strategy, signal.id, index),
                signal_id=signal.id,
                leg=index,
                contract=leg.contract,
                side=OrderSide(leg.action.value),
                quantity=leg.ratio * units,
                limit_price=prices[index],
            )
            for index, leg in enumerate(order.legs)
        ]
        with tracing.tracer().start_as_current_span("bot.risk") as risk_span:
            decision = evaluate(self._risk_input(signal, intents))
            if risk_span.is_recording():
                risk_span.set_attributes(_risk_attributes(decision.allowed, decision.reason, decision.detail))
        if not decision.allowed:
            assert decision.reason is not None
            self.metrics.denials.labels(decision.reason.value).inc()
            log.info(
                "signal denied by risk",
                extra={"signal_id": signal.id, "reason": decision.reason.value, "detail": decision.detail},
            )
            self.journal.claim_signal(
                signal.id, SignalDecision.DENIED, reason=f"{decision.reason.value}: {decision.detail}"
            )
            return SignalDecision.DENIED

        self.crash("before_journal")
        try:
            order_ids = self.executor.reserve_order_ids(len(intents))
        except ConnectionError:
            return self._skip(signal, "not_ready")
        intents = [
            dataclasses.replace(intent, client_id=self.connection.client_id, order_id=order_id)
            for intent, order_id in zip(intents, order_ids, strict=True)
        ]
        journal_started = time.monotonic()
        with tracing.tracer().start_as_current_span("bot.journal"):
            claimed = self.journal.claim_signal(signal.id, SignalDecision.TRADED, intents)
        if not claimed:
            self.metrics.signals_skipped.labels("duplicate").inc()
            return None
        journal_seconds = time.monotonic() - journal_started
        self.metrics.journal_seconds.observe(journal_seconds)
        self.crash("after_journal_before_send")
        sent: list[tuple[str, int]] = []
        refs = [i.order_ref for i in intents]
        with tracing.tracer().start_as_current_span(
            "bot.place_order",
            kind=SpanKind.CLIENT,
            attributes={
                "spyops.order_ref": refs[0],
                "spyops.order_refs": refs,
                "spyops.signal.id": signal.id,
            },
        ) as place_span:
            self._remember_order_span(refs, place_span)
            try:
                sent = self.executor.place(intents, crash_hook=self.crash)
            except ConnectionError as exc:
                # Sending failed locally; reconciliation will close whatever did not reach the gateway.
                log.error("sending orders failed", extra={"signal_id": signal.id, "error": str(exc)})
        now = time.monotonic()
        self.metrics.decision_seconds.observe(now - received)
        self.executor.record_sent(sent)
        self.orders_window.record(now, len(intents))
        for intent in intents:
            self.last_order_at[intent.contract.key] = now
        self.metrics.signal_to_order.observe(
            max(0.0, (dt.datetime.now(dt.UTC) - signal.detected_at).total_seconds())
        )
        log.info(
            "orders sent",
            extra={
                "signal_id": signal.id,
                "legs": len(intents),
                "order_refs": [i.order_ref for i in intents],
                "decision_ms": round((now - received) * 1000, 3),
                "journal_ms": round(journal_seconds * 1000, 3),
            },
        )
        return SignalDecision.TRADED

    def _remember_order_span(self, refs: list[str], span: trace.Span) -> None:
        """Keep the placeOrder span of each orderRef, so its fills join the signal's trace."""
        if not tracing.enabled():
            return
        parent = tracing.traceparent(span)
        if parent is None:
            return
        for ref in refs:
            self._order_traces[ref] = parent
        while len(self._order_traces) > _ORDER_TRACES_KEPT:
            del self._order_traces[next(iter(self._order_traces))]

    def _skip(self, signal: Signal, reason: str) -> SignalDecision:
        self.metrics.signals_skipped.labels(reason).inc()
        self.journal.claim_signal(signal.id, SignalDecision.SKIPPED, reason=reason)
        return SignalDecision.SKIPPED

    def _risk_input(self, signal: Signal, intents: list[OrderIntent]) -> RiskInput:
        now_local = dt.datetime.now(dt.UTC)
        # Quote age = how old the quote was when detected + how long the signal took to reach us.
        in_flight = max(0.0, (now_local - signal.detected_at).total_seconds())
        quotes: dict[str, Quote] = {}
        for ref in signal.quotes:
            at_detection = max(0.0, (signal.event_time - ref.quote_ts).total_seconds())
            quotes[ref.contract.key] = Quote(bid=ref.bid, ask=ref.ask, age_seconds=at_detection + in_flight)
        self.executor.update_marks(
            {k: (q.bid + q.ask) / 2 for k, q in quotes.items() if q.bid > 0 and q.ask > 0}
        )
        mono = time.monotonic()
        portfolio = self.executor.portfolio
        state = RiskState(
            positions=portfolio.signed_positions(),
            working=self.executor.working_by_contract(),
            daily_pnl=portfolio.daily_pnl(self.executor.marks),
            orders_last_minute=self.orders_window.count(mono),
            messages_last_second=self.messages_window.count(mono),
            seconds_since_last_order={k: mono - t for k, t in self.last_order_at.items()},
        )
        return RiskInput(
            orders=[
                OrderProposal(
                    contract=i.contract.key, side=i.side, quantity=i.quantity, limit_price=i.limit_price
                )
                for i in intents
            ],
            state=state,
            limits=self.config.risk,
            trading_state=self.config.trading_state,
            now=self.market_now(),
            quotes=quotes,
            max_quote_age_seconds=self.config.detector.stale_after_ms / 1000,
            cooldown_seconds=self.config.execution.cooldown_seconds,
        )

    # reactions ---------------------------------------------------------------------------------
    async def _reconcile(self, _ib: object, data_lost: bool) -> None:
        epoch = self.leader_epoch
        try:
            await self.executor.reconcile()
        except Exception:
            self.metrics.reconciliations.labels("error").inc()
            raise
        self.metrics.reconciliations.labels("ok").inc()
        self.reconciled_epoch = epoch
        if epoch != self.leader_epoch:
            # Leadership came while this reconciliation ran: it does not count; run another.
            self._spawn(self._reconcile_as_leader())
        if data_lost:
            self.executor.resubscribe_marks()
        if self.config.trading_state is TradingState.HALTED and self.is_leader():
            self.executor.cancel_all("halted")

    def _leadership_changed(self, leader: bool) -> None:
        self.metrics.leader.set(1 if leader else 0)
        if leader:
            self.leader_epoch += 1
            # Trading waits for a reconciliation that starts after this moment.
            self._spawn(self._reconcile_as_leader())

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reconcile_as_leader(self) -> None:
        if self.connection.state is not ConnectionState.READY:
            # Connecting, reconciling or lost: the reconciliation on the way to READY runs
            # (or re-runs) for this epoch.
            return
        try:
            await self.connection.reconcile_now(False)
        except Exception as exc:
            log.error(
                "reconciliation on becoming leader failed; reconnecting", extra={"error": repr(exc)[:300]}
            )
            self.ib.disconnect()

    async def _report_execution(self, record: JournalExecution) -> None:
        parsed = order_refs.parse(record.order_ref)
        execution = Execution(
            id=record.exec_id,
            strategy=self.config.strategy,
            order_ref=record.order_ref,
            signal_id=parsed.signal_id if parsed is not None else "",
            contract=record.contract,
            side=record.side,
            quantity=record.quantity,
            price=record.price,
            commission=record.commission,
            time=record.time,
        )
        # The same fill again when its commission arrives: the backend updates it (same id), so the
        # outbox, which keeps one pending item per id, gets a distinct one for it.
        item_id = f"{record.exec_id}#commission={record.commission}" if record.commission else record.exec_id
        attributes: dict[str, AttributeValue] = {
            "spyops.exec_id": record.exec_id,
            "spyops.fill.quantity": record.quantity,
            "spyops.fill.price": record.price,
        }
        with self._order_span("bot.fill", record.order_ref, execution.signal_id, attributes):
            await self._submit("execution", execution, item_id)

    async def _report_order(self, order: JournalOrder) -> None:
        try:
            update = OrderUpdate(
                # Deterministic: the same state reported again (after a restart, or by the next
                # leader) has the same id, and the backend stores it once.
                id=f"{order.order_ref}:{order.status.value}:{order.filled}",
                strategy=self.config.strategy,
                order_ref=order.order_ref,
                signal_id=order.signal_id,
                contract=order.contract,
                side=order.side,
                quantity=order.quantity,
                limit_price=order.limit_price,
                status=order.status,
                filled=order.filled,
                reason=order.reason[:500],
                time=dt.datetime.now(dt.UTC),
            )
        except ValidationError:  # e.g. an adopted order whose quantity the gateway did not give
            log.exception("order update not reportable", extra={"order_ref": order.order_ref})
            return
        status = {"spyops.order.status": order.status.value}
        with self._order_span("bot.order_update", order.order_ref, order.signal_id, status):
            await self._submit("order", update, update.id)

    def _order_span(
        self, name: str, order_ref: str, signal_id: str, attributes: Mapping[str, AttributeValue]
    ) -> AbstractContextManager[trace.Span]:
        """A span of what happens to an order later (a fill, a status), under its placeOrder span."""
        return tracing.tracer().start_as_current_span(
            name,
            context=tracing.context_from(self._order_traces.get(order_ref)),
            attributes={
                "spyops.order_ref": order_ref,
                "spyops.signal.id": signal_id,
                "spyops.strategy": self.config.strategy,
                **attributes,
            },
        )

    async def _submit(self, kind: str, item: Execution | OrderUpdate, item_id: str) -> None:
        try:
            async with self._outbox_order:
                await self.outbox.submit(kind, item, item_id)
        except Exception:
            log.exception("report not written to the outbox", extra={"kind": kind, "item_id": item_id})

    def _config_changed(self, old: RuntimeConfig, new: RuntimeConfig) -> None:
        self.config = new
        self.outbox.set_outbound(new.outbound)
        self.metrics.config_reloads.inc()
        self._set_trading_state_metric(new.trading_state)
        if new.trading_state is not old.trading_state:
            log.warning(
                "trading state changed",
                extra={"from": old.trading_state.value, "to": new.trading_state.value},
            )
        if new.trading_state is TradingState.HALTED:
            cancelled = self.executor.cancel_all("halted")
            log.warning("HALTED: working orders cancelled", extra={"cancelled": cancelled})
        if new.gateway != old.gateway or new.lease_name != old.lease_name or new.strategy != old.strategy:
            log.warning("gateway, lease or strategy changed in the config: takes effect on restart")

    def _set_trading_state_metric(self, current: TradingState) -> None:
        for state in TradingState:
            self.metrics.trading_state.labels(state.value).set(1 if state is current else 0)

    def status_snapshot(self) -> BotStatus | None:
        if not self.is_leader():
            return None
        market_day = self.market_now().astimezone(zone(MARKET_TZ)).date()
        day_start = dt.datetime.combine(market_day, dt.time(0), tzinfo=zone(MARKET_TZ)).timestamp()
        return BotStatus(
            leader=self.options.pod_name,
            orders_today=self.journal.orders_since(day_start - self.connection.clock_offset),
            open_positions=self.executor.portfolio.open_positions,
            realized_pnl=self.executor.portfolio.realized_pnl,
            last_signal_time=self.last_signal_time,
            enforced_trading_state=self.config.trading_state,
        )

    # loops --------------------------------------------------------------------------------------------
    async def _housekeeping(self) -> None:
        while True:
            self.probes.beat()
            self.executor.cancel_expired(time.monotonic())
            self.executor.roll_day_if_needed()
            self.metrics.daily_pnl.set(self.executor.portfolio.daily_pnl(self.executor.marks))
            self.metrics.leader.set(1 if self.is_leader() else 0)
            self.metrics.max_daily_loss.set(self.config.risk.max_daily_loss)
            self.metrics.trading_hours_open.set(
                1 if within_trading_hours(self.config.risk.trading_hours, self.market_now()) else 0
            )
            await asyncio.sleep(0.1)

    async def _signals(self) -> None:
        from spyops.signalstream import subscribe

        url = self.config.detector_stream_url
        if not url:
            raise RuntimeError("runtime config has no detector_stream_url: the bot has nothing to trade")
        async for envelope in subscribe(url):
            signal = envelope.signal
            with tracing.tracer().start_as_current_span(
                "bot.signal",
                context=tracing.context_from(envelope.traceparent),
                kind=SpanKind.CONSUMER,
                attributes={
                    "spyops.signal.id": signal.id,
                    "spyops.strategy": self.config.strategy,
                    "spyops.rule": signal.rule.value,
                    tracing.TRADABLE: signal.suggested_order is not None,
                },
            ) as span:
                try:
                    decision = self.handle_signal(signal)
                except Exception:
                    log.exception("signal handling failed", extra={"signal_id": signal.id})
                else:
                    if span.is_recording():
                        span.set_attribute("spyops.decision", decision.value if decision else "duplicate")

    async def run(self, stop: asyncio.Event) -> None:
        port = await self.probes.start(self.options.probe_host, self.options.probe_port)
        log.info(
            "bot starting",
            extra={
                "pod": self.options.pod_name,
                "strategy": self.config.strategy,
                "client_id": self.client_id,
                "probe_port": port,
                "journal": str(self.options.journal_path),
            },
        )
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(self.connection.run(), name="gateway"),
            asyncio.create_task(self.watcher.run(), name="config"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._signals(), name="signals"),
            asyncio.create_task(self.outbox.run(), name="outbox"),
        ]
        kube = None
        if not self.options.standalone:
            kube = self._kube_client()
            namespace = self.options.namespace
            self.elector = LeaderElector(
                kube,
                namespace=namespace,
                lease_name=self.config.lease_name,
                identity=self.options.pod_name,
                timing=LeaseTiming.for_duration(self.config.lease_duration_seconds),
                on_change=self._leadership_changed,
            )
            reporter = StatusReporter(
                kube,
                namespace=namespace,
                name=self.config.strategy.split("/", 1)[1],
                snapshot=self.status_snapshot,
                min_interval=self.options.status_interval,
            )
            tasks.append(asyncio.create_task(self.elector.run(), name="leader"))
            tasks.append(asyncio.create_task(reporter.run(), name="status"))
        else:
            self.leader_epoch = 0
            self.metrics.leader.set(1)
        stopper = asyncio.create_task(stop.wait(), name="stop")
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            # Stop trading first (the elector releases the Lease), then cancel what we have working.
            self.outbox.stop()
            for task in reversed(tasks):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)
            stopper.cancel()
            if kube is not None:
                with contextlib.suppress(Exception):
                    await kube.close()
            await self.probes.stop()
            self.journal.close()
            log.info("bot stopped")

    def _kube_client(self) -> AsyncClient:
        from lightkube.config.kubeconfig import KubeConfig

        config = (
            KubeConfig.from_file(self.options.kubeconfig)
            if self.options.kubeconfig
            else KubeConfig.from_env()
        )
        return AsyncClient(config=config, namespace=self.options.namespace)
