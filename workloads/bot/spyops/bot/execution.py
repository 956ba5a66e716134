"""Order execution against the gateway: place, track, time out, cancel, reconcile.

Multi-leg signals are *legged*: each leg is its own limit order with its own
orderRef (``<tag>-<signal>-<leg>``), all sent back to back in one step after the
risk engine allowed the whole signal and the journal holds every leg's intent.
The rule for a half-filled trade: every leg is sent regardless of how the others
fare; a leg still unfilled after ``order_timeout_seconds`` is cancelled; whatever
filled stays as a position. That position is marked to market, counts against
max open positions and the daily loss limit, and is visible to REDUCING. We never
chase a missing leg with a new order (that would be a second order for the signal).

Reconciliation (on connect, on restore, on becoming leader) reads all open
orders, completed orders and executions at the gateway, keeps those whose
orderRef carries our strategy tag, and makes the journal agree:
- known refs get the gateway's status and fills;
- unknown refs (another replica sent them) are adopted, so their signal is
  decided here too and never traded again;
- journal intents the gateway does not know are closed as never sent
  (INTENDED: the process stopped before sending) or lost (sent, never arrived).
  They are *never* re-sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from ib_async import IB, Contract, LimitOrder, Option, Ticker, Trade
from ib_async import Fill as IbFill
from ib_async.objects import CommissionReport

from spyops.bot import order_refs
from spyops.bot.journal import Journal, JournalExecution, JournalOrder, OrderIntent
from spyops.bot.metrics import BotMetrics
from spyops.bot.portfolio import Fill, Portfolio, portfolio_from
from spyops.bot.risk import zone
from spyops.schemas import ExecutionSettings, OptionContract, OptionRight, OrderSide, OrderStatus

log = logging.getLogger(__name__)

RECONCILE_TIMEOUT_SECONDS = 15.0
_REJECT_CODES = frozenset({103, 110, 200, 201, 203, 321, 10147})
_ACTIVE = frozenset(
    {"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel", "ValidationError"}
)
_CANCELLED = frozenset({"Cancelled", "ApiCancelled"})


def ib_contract(contract: OptionContract) -> Option:
    return Option(
        symbol=contract.underlying,
        lastTradeDateOrContractMonth=contract.expiry.strftime("%Y%m%d"),
        strike=contract.strike,
        right=contract.right.value,
        exchange="SMART",
        multiplier="100",
        currency="USD",
    )


def option_contract(contract: Contract) -> OptionContract | None:
    """Our contract identity for an IB contract; None for anything that is not a plain option."""
    if contract.secType != "OPT" or not contract.lastTradeDateOrContractMonth:
        return None
    try:
        expiry = dt.datetime.strptime(contract.lastTradeDateOrContractMonth[:8], "%Y%m%d").date()
        right = OptionRight(contract.right[:1].upper())
        return OptionContract(underlying=contract.symbol, expiry=expiry, strike=contract.strike, right=right)
    except ValueError:
        return None


def _quantity(value: float | Decimal | None) -> int:
    """A quantity from ib_async, where "unset" is NaN or a huge sentinel double."""
    if value is None:
        return 0
    number = float(value)
    if math.isnan(number) or abs(number) > 1e15:
        return 0
    return int(number)


def filled_of(trade: Trade) -> int:
    return max(_quantity(trade.orderStatus.filled), _quantity(trade.order.filledQuantity))


def _price(value: float | Decimal | None) -> float:
    if value is None:
        return 0.0
    number = float(value)
    if math.isnan(number) or abs(number) > 1e15:
        return 0.0
    return number


def status_of(trade: Trade) -> OrderStatus:
    """Our journal status for what ib_async says about an order."""
    ib_status = trade.orderStatus.status
    filled = filled_of(trade)
    if (filled > 0 and filled >= _quantity(trade.order.totalQuantity)) or ib_status == "Filled":
        return OrderStatus.FILLED
    if ib_status in _CANCELLED or ib_status == "Inactive":
        codes = [entry.errorCode for entry in trade.log if entry.errorCode]
        if codes and codes[-1] in _REJECT_CODES and filled == 0:
            return OrderStatus.REJECTED
        return OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.SUBMITTED


def round_to_tick(price: float, tick: float = 0.01) -> float:
    return round(round(price / tick) * tick, 2)


@dataclass
class WorkingOrder:
    order_ref: str
    contract: str
    side: OrderSide
    quantity: int
    filled: int
    trade: Trade | None  # None for orders of other replicas we cannot act on
    deadline: float | None  # monotonic; None when we cannot cancel it

    @property
    def signed_remaining(self) -> int:
        remaining = max(0, self.quantity - self.filled)
        return remaining if self.side is OrderSide.BUY else -remaining


class Executor:
    def __init__(
        self,
        ib: IB,
        journal: Journal,
        metrics: BotMetrics,
        *,
        strategy: str,
        settings: Callable[[], ExecutionSettings],
        market_today: Callable[[], dt.date],
        on_message: Callable[[int], None],
        on_execution: Callable[[JournalExecution], None] | None = None,
        on_order_update: Callable[[JournalOrder], None] | None = None,
    ) -> None:
        self.ib = ib
        # Reported to the backend: a new fill once journaled, and again when its commission arrives;
        # an order whenever its journaled status or fill count changes.
        self._on_execution = on_execution
        self._on_order_update = on_order_update
        self._reported: dict[str, tuple[OrderStatus, int]] = {}
        self.journal = journal
        self.metrics = metrics
        self.strategy = strategy
        self.tag = order_refs.strategy_tag(strategy)
        self._settings = settings
        self._market_today = market_today
        self._on_message = on_message  # counts gateway messages for the budget
        self.working: dict[str, WorkingOrder] = {}
        self.portfolio = Portfolio()
        self.marks: dict[str, float] = {}
        self._tickers: dict[str, Ticker] = {}
        self._subscribing: set[str] = set()
        self._background: set[asyncio.Future[None]] = set()
        self._finals_counted: set[str] = set()
        self._portfolio_day: dt.date | None = None
        # eventkit swallows handler exceptions; ours are logged loudly instead.
        ib.orderStatusEvent += _logged(self._on_order_status)
        ib.openOrderEvent += _logged(self._on_order_status)
        ib.execDetailsEvent += _logged(self._on_exec_details)
        ib.commissionReportEvent += _logged(self._on_commission)
        ib.pendingTickersEvent += _logged(self._on_tickers)

    # placing ---------------------------------------------------------------------------
    def limit_price(self, leg_price: float, side: OrderSide) -> float:
        offset = self._settings().limit_offset
        price = leg_price + offset if side is OrderSide.BUY else leg_price - offset
        return round_to_tick(price)

    def reserve_order_ids(self, n: int) -> list[int]:
        """Order ids for the next ``n`` orders, taken before the intents are journaled."""
        return [self.ib.client.getReqId() for _ in range(n)]

    def place(
        self, intents: Iterable[OrderIntent], *, crash_hook: Callable[[str], None]
    ) -> list[tuple[str, int]]:
        """Send every intent (already durable in the journal); returns (orderRef, orderId) sent.

        The caller records them with :meth:`record_sent` once the hot path is over; if the
        process dies first, reconciliation finds the orders at the gateway by orderRef.
        """
        settings = self._settings()
        deadline = time.monotonic() + settings.order_timeout_seconds
        sent: list[tuple[str, int]] = []
        for intent in intents:
            order = LimitOrder(
                intent.side.value,
                intent.quantity,
                intent.limit_price,
                orderRef=intent.order_ref,
                tif=settings.time_in_force,
            )
            if intent.order_id is not None:
                order.orderId = intent.order_id
            trade = self.ib.placeOrder(ib_contract(intent.contract), order)
            self._on_message(1)
            sent.append((intent.order_ref, trade.order.orderId))
            self.working[intent.order_ref] = WorkingOrder(
                order_ref=intent.order_ref,
                contract=intent.contract.key,
                side=intent.side,
                quantity=intent.quantity,
                filled=0,
                trade=trade,
                deadline=deadline,
            )
            self.metrics.orders.labels("submitted").inc()
        crash_hook("after_send_before_ack")
        return sent

    def record_sent(self, sent: Iterable[tuple[str, int]]) -> None:
        for ref, order_id in sent:
            self.journal.mark_sent(ref, self.ib.client.clientId, order_id)

    def cancel(self, working: WorkingOrder, reason: str) -> bool:
        if working.trade is None or not self.ib.isConnected():
            return False
        if working.trade.isDone() or working.trade.orderStatus.status == "PendingCancel":
            return False
        log.info("cancelling order", extra={"order_ref": working.order_ref, "reason": reason})
        self.ib.cancelOrder(working.trade.order)
        self._on_message(1)
        return True

    def cancel_all(self, reason: str) -> int:
        count = 0
        for working in list(self.working.values()):
            if self.cancel(working, reason):
                count += 1
        uncancellable = [w.order_ref for w in self.working.values() if w.trade is None]
        if uncancellable:
            log.warning(
                "working orders of another client id cannot be cancelled from here",
                extra={"order_refs": uncancellable},
            )
        return count

    def cancel_expired(self, now: float) -> int:
        count = 0
        for working in list(self.working.values()):
            if working.deadline is not None and now >= working.deadline and self.cancel(working, "timeout"):
                working.deadline = None  # one cancel request per order
                count += 1
        return count

    def working_by_contract(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for working in self.working.values():
            totals[working.contract] = totals.get(working.contract, 0) + working.signed_remaining
        return totals

    # events from the gateway -------------------------------------------------------------------
    def _on_order_status(self, trade: Trade) -> None:
        ref = order_refs.normalize(trade.order.orderRef or "")
        if not order_refs.belongs_to(ref, self.strategy):
            return
        self._apply_trade(ref, trade, filled_hint=None)

    def _apply_trade(self, ref: str, trade: Trade, filled_hint: int | None) -> None:
        status = status_of(trade)
        filled = filled_of(trade)
        if filled_hint is not None:
            filled = max(filled, filled_hint)
            if filled >= _quantity(trade.order.totalQuantity) > 0:
                status = OrderStatus.FILLED
        reason = ""
        if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
            messages = [entry.message for entry in trade.log if entry.message]
            reason = messages[-1][:500] if messages else ""
        known = self.journal.update_from_gateway(
            ref,
            status=status,
            filled=filled,
            avg_fill_price=_price(trade.orderStatus.avgFillPrice),
            client_id=trade.order.clientId or None,
            order_id=trade.order.orderId or None,
            perm_id=trade.order.permId or None,
            reason=reason,
        )
        if not known:
            self._adopt(ref, trade, status, filled)
        self._report_order(ref)
        working = self.working.get(ref)
        if status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED):
            self.working.pop(ref, None)
            if ref not in self._finals_counted:
                self._finals_counted.add(ref)
                self.metrics.orders.labels(status.value.lower()).inc()
        elif working is not None:
            working.filled = max(working.filled, filled)
        elif status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
            self._track_found(ref, trade, filled)
        self.metrics.working_orders.set(len(self.working))

    def _report_order(self, ref: str) -> None:
        """Report the journal's view of an order when it changed since the last report."""
        order = self.journal.order(ref)
        if order is None or self._on_order_update is None:
            return
        state = (order.status, order.filled)
        if self._reported.get(ref) == state:
            return
        self._reported[ref] = state
        self._on_order_update(order)

    def _track_found(self, ref: str, trade: Trade, filled: int) -> None:
        """An open order we did not place in this process: track it; cancel it if it is ours and old."""
        contract = option_contract(trade.contract)
        if contract is None:
            return
        ours = trade.order.clientId == self.ib.client.clientId
        journaled = self.journal.order(ref)
        deadline: float | None = None
        if ours:
            sent_at = journaled.sent_at if journaled and journaled.sent_at else time.time()
            age = time.time() - sent_at
            deadline = time.monotonic() + max(0.0, self._settings().order_timeout_seconds - age)
        self.working[ref] = WorkingOrder(
            order_ref=ref,
            contract=contract.key,
            side=OrderSide(trade.order.action),
            quantity=_quantity(trade.order.totalQuantity),
            filled=filled,
            trade=trade if ours else None,
            deadline=deadline,
        )

    def _adopt(self, ref: str, trade: Trade, status: OrderStatus, filled: int) -> None:
        parsed = order_refs.parse(ref)
        contract = option_contract(trade.contract)
        if parsed is None or contract is None:
            log.error("order with our tag but unreadable ref or contract", extra={"order_ref": ref})
            return
        self.journal.adopt(
            OrderIntent(
                order_ref=ref,
                signal_id=parsed.signal_id,
                leg=parsed.leg,
                contract=contract,
                side=OrderSide(trade.order.action),
                quantity=_quantity(trade.order.totalQuantity),
                limit_price=_price(trade.order.lmtPrice),
            ),
            status=status,
            filled=filled,
            avg_fill_price=_price(trade.orderStatus.avgFillPrice),
            client_id=trade.order.clientId or None,
            order_id=trade.order.orderId or None,
            perm_id=trade.order.permId or None,
        )
        log.info("adopted an order found at the gateway", extra={"order_ref": ref, "status": status.value})

    def _on_exec_details(self, _trade: Trade, fill: IbFill) -> None:
        self._book_fill(fill)

    def _book_fill(self, fill: IbFill) -> bool:
        ref = order_refs.normalize(fill.execution.orderRef or "")
        if not order_refs.belongs_to(ref, self.strategy):
            return False
        contract = option_contract(fill.contract)
        if contract is None:
            return False
        side = OrderSide.BUY if fill.execution.side.upper() in ("BOT", "BUY") else OrderSide.SELL
        commission = _price(fill.commissionReport.commission) if fill.commissionReport else 0.0
        when = (
            fill.execution.time if fill.execution.time.tzinfo else fill.execution.time.replace(tzinfo=dt.UTC)
        )
        record = JournalExecution(
            exec_id=fill.execution.execId,
            order_ref=ref,
            contract=contract,
            side=side,
            quantity=_quantity(fill.execution.shares),
            price=float(fill.execution.price),
            commission=commission,
            time=when,
        )
        if not self.journal.record_execution(record):
            return False
        self.metrics.fills.inc()
        if self._on_execution is not None:
            self._on_execution(record)
        if self._is_today(when):
            self.portfolio.apply(_portfolio_fill(record))
            self.marks.setdefault(contract.key, record.price)
            self._ensure_mark_subscription(contract)
        self._publish_portfolio()
        return True

    def _on_commission(self, _trade: Trade, fill: IbFill, report: CommissionReport) -> None:
        commission = _price(report.commission)
        previous = self.journal.set_commission(report.execId, commission)
        if previous is not None and previous != commission:
            self.portfolio.add_commission(commission - previous)
            self._publish_portfolio()
            updated = self.journal.execution(report.execId)
            if updated is not None and self._on_execution is not None:
                self._on_execution(updated)

    # marks -------------------------------------------------------------------------------------
    def _ensure_mark_subscription(self, contract: OptionContract) -> None:
        if contract.key in self._tickers or contract.key in self._subscribing or not self.ib.isConnected():
            return
        self._subscribing.add(contract.key)
        task = asyncio.ensure_future(self._subscribe_marks(contract))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _subscribe_marks(self, contract: OptionContract) -> None:
        """Market data for a held contract (marks for P&L); needs the conId, so qualify first."""
        try:
            [qualified] = await asyncio.wait_for(self.ib.qualifyContractsAsync(ib_contract(contract)), 10)
            self._on_message(1)
            if not isinstance(qualified, Contract) or not self.ib.isConnected():
                log.warning("cannot qualify a held contract for marks", extra={"contract": contract.key})
                return
            self._tickers[contract.key] = self.ib.reqMktData(qualified, "", False, False)
            self._on_message(1)
        except (TimeoutError, ConnectionError, ValueError) as exc:
            log.warning("market data for marks failed", extra={"contract": contract.key, "error": repr(exc)})
        finally:
            self._subscribing.discard(contract.key)

    def resubscribe_marks(self) -> None:
        """After a reconnect or 1101 the gateway forgot our market data: ask again."""
        held = [self._contract_of(key) for key in self.portfolio.signed_positions()]
        self._tickers.clear()
        for contract in held:
            if contract is not None:
                self._ensure_mark_subscription(contract)

    def _contract_of(self, key: str) -> OptionContract | None:
        for execution in self.journal.executions():
            if execution.contract.key == key:
                return execution.contract
        return None

    def _on_tickers(self, tickers: set[Ticker]) -> None:
        by_contract = {id(t): key for key, t in self._tickers.items()}
        for ticker in tickers:
            key = by_contract.get(id(ticker))
            if key is None:
                continue
            bid, ask = ticker.bid, ticker.ask
            if bid and ask and bid > 0 and ask > 0 and not math.isnan(bid) and not math.isnan(ask):
                self.marks[key] = (bid + ask) / 2

    def update_marks(self, marks: dict[str, float]) -> None:
        """Marks from quotes seen elsewhere (a signal's quotes) for contracts we hold."""
        for key, mark in marks.items():
            if key in self.portfolio.positions:
                self.marks[key] = mark

    # portfolio -----------------------------------------------------------------------------------
    def _is_today(self, when: dt.datetime) -> bool:
        return when.astimezone(zone("America/New_York")).date() == self._market_today()

    def rebuild_portfolio(self) -> None:
        today = [e for e in self.journal.executions() if self._is_today(e.time)]
        self.portfolio = portfolio_from(_portfolio_fill(e) for e in today)
        self._portfolio_day = self._market_today()
        for execution in today:
            self.marks.setdefault(execution.contract.key, execution.price)
        self._publish_portfolio()

    def roll_day_if_needed(self) -> None:
        if self._portfolio_day is not None and self._portfolio_day != self._market_today():
            self.rebuild_portfolio()

    def _publish_portfolio(self) -> None:
        self.metrics.open_positions.set(self.portfolio.open_positions)
        self.metrics.realized_pnl.set(self.portfolio.realized_pnl)
        self.metrics.daily_pnl.set(self.portfolio.daily_pnl(self.marks))

    # reconciliation ------------------------------------------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Make the journal agree with the gateway; raises when the gateway cannot be read."""
        async with asyncio.timeout(RECONCILE_TIMEOUT_SECONDS):
            open_trades = await self.ib.reqAllOpenOrdersAsync()
            completed = await self.ib.reqCompletedOrdersAsync(False)
            fills = await self.ib.reqExecutionsAsync()
        self._on_message(3)

        at_gateway: dict[str, Trade] = {}
        for trade in [*completed, *open_trades]:  # open orders override stale completed copies
            ref = order_refs.normalize(trade.order.orderRef or "")
            if order_refs.belongs_to(ref, self.strategy):
                at_gateway[ref] = trade
        filled_by_ref: dict[str, int] = {}
        for fill in fills:
            ref = order_refs.normalize(fill.execution.orderRef or "")
            if order_refs.belongs_to(ref, self.strategy):
                filled_by_ref[ref] = filled_by_ref.get(ref, 0) + _quantity(fill.execution.shares)

        self.working = {ref: w for ref, w in self.working.items() if ref in at_gateway}
        for ref, trade in at_gateway.items():
            self._apply_trade(ref, trade, filled_hint=filled_by_ref.get(ref))
        new_fills = sum(1 for fill in fills if self._book_fill(fill))

        closed = 0
        for journaled in self.journal.open_orders():
            if journaled.order_ref in at_gateway:
                continue
            if journaled.status is OrderStatus.INTENDED:
                status, reason = OrderStatus.CANCELLED, "never sent: the process stopped before sending"
            else:
                status, reason = OrderStatus.REJECTED, "unknown at the gateway at reconciliation"
            self.journal.update_from_gateway(
                journaled.order_ref, status=status, filled=journaled.filled, avg_fill_price=0.0, reason=reason
            )
            self.working.pop(journaled.order_ref, None)
            self._report_order(journaled.order_ref)
            closed += 1
        self.rebuild_portfolio()
        self.metrics.working_orders.set(len(self.working))
        summary = {
            "gateway_orders": len(at_gateway),
            "gateway_executions": len(fills),
            "new_fills": new_fills,
            "closed_unsent": closed,
            "working": len(self.working),
        }
        log.info("reconciled journal with the gateway", extra=summary)
        return summary


def _logged(handler: Callable[..., None]) -> Callable[..., None]:
    def run(*args: object) -> None:
        try:
            handler(*args)
        except Exception:
            log.exception("gateway event handler failed", extra={"handler": handler.__name__})

    run.__name__ = handler.__name__
    return run


def _portfolio_fill(execution: JournalExecution) -> Fill:
    return Fill(
        exec_id=execution.exec_id,
        contract=execution.contract.key,
        side=execution.side,
        quantity=execution.quantity,
        price=execution.price,
        commission=execution.commission,
        time=execution.time,
    )
