"""The detector's market data through the IB gateway (ib_async): connect, subscribe, keep going.

One connection at a time, with the strategy's detector client id. On connect: the
gateway's clock (for the session date and the snapshot times), the underlying qualified,
its option chain parameters (reqSecDefOptParams), today's expiry in New York (0DTE), the
underlying's quote, then the option strikes nearest the money that fit the line budget
(``subscription_plan``), qualified in one batch and requested at a paced rate. Quotes land
in a ``ChainBook`` from ib_async's ``pendingTickersEvent``; the service is told after each
batch and scans on its own schedule.

Connection state follows IB's codes: 1100 (and 2110) lost -> not ready; 1102 restored with
data maintained -> ready again; 1101 restored with data lost -> every subscription is
requested again. A dropped socket ends the connection; the feed reconnects with backoff
and subscribes from scratch (ib_async has no reconnect of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ib_async import IB, Contract, Option, StartupFetchNONE, Stock, Ticker

from spyops.common.retry import Backoff
from spyops.detector.chain_book import ChainBook
from spyops.detector.metrics import DetectorMetrics
from spyops.detector.pacing import TokenBucket
from spyops.detector.subscription_plan import (
    UNDERLYING_LINES,
    OptionKey,
    SubscriptionPlan,
    plan_change,
    plan_subscriptions,
)
from spyops.schemas import DetectorSettings, GatewayEndpoint

log = logging.getLogger("spyops.detector.feed")

NEW_YORK = ZoneInfo("America/New_York")
LIVE_MARKET_DATA = 1
LOST_CODES = {1100: "gateway", 2110: "gateway", 2103: "market data farm"}
RESTORED_DATA_LOST = 1101
RESTORED_DATA_KEPT = 1102
FARM_OK = 2104
MAX_TICKERS_REACHED = 101
NO_SECURITY_DEFINITION = 200
# Every request the feed makes in bulk (qualifications, subscriptions, cancels) is paced:
# at most 5 at once and 35 a second, so with everything else a connection sends it stays
# well under IB's 50 messages in any one second (ib_async's own throttle lets 45 go in one
# burst, which a gateway counting a sliding window can see as more than 50).
PACED_MESSAGES_PER_SECOND = 35.0
PACED_BURST = 5.0
QUALIFY_CHUNK = 5
# A line that has not delivered a first quote this long after its request is requested
# again (a request refused under load, e.g. error 100, is otherwise silent forever).
SILENT_LINE_SECONDS = 5.0
# A line the gateway refused (101: the account's budget is shared with the bots) is not asked
# for again before this, so a full budget does not turn into a request loop.
REFUSED_LINE_HOLD_SECONDS = 60.0
# reqCurrentTime answers in whole seconds: a smaller difference from the local clock is its
# rounding, not a different clock (a simulator runs its own session clock, hours away).
CLOCK_OFFSET_MIN_SECONDS = 2


class FeedSetupError(RuntimeError):
    """The connection cannot be set up (no chain, no 0DTE expiry, no quote); says why."""


@dataclass(frozen=True, slots=True)
class FeedTarget:
    """What to connect to and watch; a change means a new connection."""

    gateway: GatewayEndpoint
    underlying: str


def pick_expiry(expirations: list[str], today: dt.date) -> dt.date | None:
    """Today's expiry (0DTE) among IB's ``YYYYMMDD`` strings, or None if today is not listed."""
    for text in expirations:
        try:
            expiry = dt.datetime.strptime(text[:8], "%Y%m%d").date()
        except ValueError:
            continue
        if expiry == today:
            return expiry
    return None


def clock_offset_ns(gateway_time: dt.datetime, local_ns: int) -> int:
    """Offset to add to the local clock to read the gateway's (0 within its rounding)."""
    gateway_ns = int(gateway_time.timestamp()) * 1_000_000_000
    offset = gateway_ns - local_ns
    if abs(offset) < CLOCK_OFFSET_MIN_SECONDS * 1_000_000_000:
        return 0
    return offset


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    changed: int  # quotes that changed (underlying included)
    underlying_changed: bool
    bad: int  # tickers that could not be read


def apply_tickers(
    book: ChainBook,
    tickers: Iterable[Any],
    underlying_con_id: int | None,
    keys: Mapping[int, OptionKey],
    ts_ns: int,
) -> TickerUpdate:
    """Copy ib_async tickers' top of book into ``book``; an unreadable ticker is counted, not raised."""
    changed = 0
    underlying_changed = False
    bad = 0
    for ticker in tickers:
        try:
            con_id = ticker.contract.conId
            if underlying_con_id is not None and con_id == underlying_con_id:
                if book.update_underlying(ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize, ts_ns):
                    changed += 1
                    underlying_changed = True
                continue
            key = keys.get(con_id)
            if key is not None and book.update_option(
                key, ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize, ts_ns
            ):
                changed += 1
        except Exception:  # a malformed tick must never end the feed
            bad += 1
            log.debug("unreadable ticker update", exc_info=True)
    return TickerUpdate(changed, underlying_changed, bad)


class MarketFeed:
    """Run :meth:`run` as a task; read :attr:`book`, :meth:`now_ns`, :meth:`readiness`."""

    def __init__(
        self,
        target: FeedTarget,
        settings: Callable[[], DetectorSettings],
        metrics: DetectorMetrics,
        on_book_change: Callable[[], None],
        *,
        pacer: TokenBucket | None = None,
        request_timeout: float = 30.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        resync_interval: float = 30.0,
    ) -> None:
        self.target = target
        self._settings = settings
        self._metrics = metrics
        self._on_book_change = on_book_change
        self._pacer = pacer or TokenBucket(PACED_MESSAGES_PER_SECOND, burst=PACED_BURST)
        self._request_timeout = request_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._resync_interval = resync_interval
        self.book: ChainBook | None = None
        self.ib: IB | None = None
        self._offset_ns = 0
        self._connected = False
        self._connections = 0
        self._lost: set[str] = set()
        self._reason = "not connected to the gateway yet"
        self._underlying: Contract | None = None
        self._underlying_ticker: Ticker | None = None
        self._strikes: tuple[float, ...] = ()
        self._qualified: dict[OptionKey, Contract] = {}
        self._unlisted: set[OptionKey] = set()
        self._conid_keys: dict[int, OptionKey] = {}
        self._subscribed: dict[OptionKey, Contract] = {}
        self._requested_at: dict[OptionKey, float] = {}  # monotonic time of the last request
        self._refused_until: dict[OptionKey, float] = {}  # monotonic time a refused line may be retried
        self._plan: SubscriptionPlan | None = None
        self._in_sync = False  # every contract of the plan has been requested since (re)subscribing
        self.generation = 0  # bumped each time the feed becomes in sync after a (re)subscription
        self._resync = asyncio.Event()
        self._resubscribe_all = False
        self._disconnected = asyncio.Event()
        self._sync_lock = asyncio.Lock()

    # -- state for the service ------------------------------------------------------------

    def now_ns(self) -> int:
        """The gateway's clock in Unix nanoseconds (the local clock plus its offset)."""
        return time.time_ns() + self._offset_ns

    def now(self) -> dt.datetime:
        ns = self.now_ns()
        return dt.datetime.fromtimestamp(ns // 1_000 / 1e6, dt.UTC)

    @property
    def connected(self) -> bool:
        return self._connected and not self._lost

    @property
    def subscribed(self) -> bool:
        """Connected, and every contract of the current plan has been requested."""
        return self.connected and self._in_sync

    @property
    def lines_in_use(self) -> int:
        return (UNDERLYING_LINES if self._underlying_ticker is not None else 0) + len(self._subscribed)

    @property
    def plan(self) -> SubscriptionPlan | None:
        return self._plan

    def readiness(self) -> tuple[bool, str]:
        if not self._connected:
            return False, self._reason
        if self._lost:
            return False, f"gateway reports lost connectivity ({', '.join(sorted(self._lost))})"
        if not self._in_sync:
            return False, "subscribing to market data"
        return True, "streaming"

    # -- control --------------------------------------------------------------------------

    def request_resync(self) -> None:
        """Recompute the plan (settings changed) and apply the difference."""
        self._resync.set()

    def set_target(self, target: FeedTarget) -> None:
        """Connect somewhere else (or watch another underlying): drops the connection now."""
        if target == self.target:
            return
        log.info(
            "gateway target changed; reconnecting",
            extra={"host": target.gateway.host, "port": target.gateway.port, "underlying": target.underlying},
        )
        self.target = target
        if self.ib is not None:
            self.ib.disconnect()

    # -- connection loop ------------------------------------------------------------------

    async def run(self) -> None:
        backoff = Backoff(base=self._backoff_initial, cap=self._backoff_max)
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                self._teardown()
                raise
            except Exception as exc:  # any failure of one connection: log, back off, again
                self._reason = f"gateway connection failed: {exc or type(exc).__name__}"
                log.warning(
                    "gateway session ended",
                    extra={"error": str(exc) or type(exc).__name__, "type": type(exc).__name__},
                )
            self._teardown()
            if time.monotonic() - started > 60:
                attempt = 0  # it ran a while: start over quickly
            delay = backoff.delay(attempt)
            attempt += 1
            log.info("reconnecting to the gateway", extra={"retry_in_s": round(delay, 2)})
            await asyncio.sleep(delay)

    def _teardown(self) -> None:
        ib, self.ib = self.ib, None
        if ib is not None:
            ib.pendingTickersEvent.clear()
            ib.errorEvent.clear()
            ib.disconnectedEvent.clear()
            with contextlib.suppress(Exception):
                ib.disconnect()
        if self._connected:
            self._reason = "disconnected from the gateway; reconnecting"
        self._connected = False
        self._lost.clear()
        self._subscribed.clear()
        self._requested_at.clear()
        self._underlying_ticker = None
        self._plan = None
        self._in_sync = False
        self._metrics.connected.set(0)
        self._metrics.subscribed_lines.set(0)
        if self.book is not None:
            self.book.forget_quotes()

    async def _session(self) -> None:
        target = self.target
        ib = IB()
        ib.RequestTimeout = self._request_timeout
        self.ib = ib
        self._disconnected.clear()
        ib.disconnectedEvent += self._disconnected.set
        ib.errorEvent += self._on_error
        ib.pendingTickersEvent += self._on_tickers
        self._reason = f"connecting to {target.gateway.host}:{target.gateway.port}"
        await ib.connectAsync(
            target.gateway.host,
            target.gateway.port,
            clientId=target.gateway.client_id_base,
            timeout=self._request_timeout,
            readonly=True,
            fetchFields=StartupFetchNONE,
        )
        self._connections += 1
        if self._connections > 1:
            self._metrics.reconnects.inc()
        ib.reqMarketDataType(LIVE_MARKET_DATA)
        gateway_time = await self._bounded(ib.reqCurrentTimeAsync(), "reqCurrentTime")
        self._offset_ns = clock_offset_ns(gateway_time, time.time_ns())
        session_date = gateway_time.astimezone(NEW_YORK).date()
        await self._load_chain(ib, target.underlying, session_date)
        self._connected = True
        self._reason = "waiting for the underlying's quote"
        self._metrics.connected.set(1)
        log.info(
            "connected to the gateway",
            extra={
                "host": target.gateway.host,
                "port": target.gateway.port,
                "client_id": target.gateway.client_id_base,
                "session_date": session_date.isoformat(),
                "clock_offset_s": round(self._offset_ns / 1e9, 3),
                "strikes_listed": len(self._strikes),
            },
        )
        assert self._underlying is not None
        await self._pacer.take()
        self._underlying_ticker = ib.reqMktData(self._underlying, "", False, False)
        self._metrics.subscribed_lines.set(self.lines_in_use)
        await self._wait_for_spot()
        self._resync.set()
        sync = asyncio.create_task(self._sync_loop(ib), name="detector-subscriptions")
        disconnected = asyncio.create_task(self._disconnected.wait())
        try:
            done, _ = await asyncio.wait({sync, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            if sync in done:
                sync.result()  # raises what ended it
            raise ConnectionError("the gateway closed the connection")
        finally:
            for task in (sync, disconnected):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _bounded(self, awaitable: Any, what: str) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self._request_timeout)
        except TimeoutError as exc:
            raise FeedSetupError(
                f"{what}: no answer from the gateway in {self._request_timeout:g} s"
            ) from exc

    async def _load_chain(self, ib: IB, underlying: str, session_date: dt.date) -> None:
        stock = Stock(underlying, "SMART", "USD")
        [qualified] = await self._bounded(ib.qualifyContractsAsync(stock), "qualify underlying")
        if qualified is None or not stock.conId:
            raise FeedSetupError(f"the gateway does not know the underlying {underlying}")
        params = await self._bounded(
            ib.reqSecDefOptParamsAsync(underlying, "", "STK", stock.conId), "reqSecDefOptParams"
        )
        chains = [c for c in params if c.exchange == "SMART"] or list(params)
        expiry = None
        strikes: set[float] = set()
        for chain in chains:
            found = pick_expiry(list(chain.expirations), session_date)
            if found is not None:
                expiry = found
                strikes.update(float(k) for k in chain.strikes if k > 0)
        if expiry is None or not strikes:
            raise FeedSetupError(
                f"no {underlying} option expiring today ({session_date.isoformat()}, New York) is listed"
            )
        self._underlying = stock
        if self.book is None or self.book.expiry != expiry or self.book.underlying != underlying:
            self.book = ChainBook(underlying, expiry)
            self._qualified.clear()
            self._unlisted.clear()
            self._conid_keys.clear()
        self._strikes = tuple(sorted(strikes))

    async def _wait_for_spot(self) -> None:
        deadline = time.monotonic() + self._request_timeout
        while self.book is None or self.book.spot is None:
            if time.monotonic() > deadline:
                raise FeedSetupError(f"no quote for the underlying within {self._request_timeout:g} s")
            await asyncio.sleep(0.05)

    # -- subscriptions --------------------------------------------------------------------

    async def _sync_loop(self, ib: IB) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resync.wait(), min(self._resync_interval, SILENT_LINE_SECONDS))
            self._resync.clear()
            await self._sync(ib)
            await self._renew_silent_lines(ib)

    async def _renew_silent_lines(self, ib: IB) -> None:
        """Request again the lines that never delivered a quote (cancel first: one line each)."""
        book = self.book
        if book is None or not self._in_sync:
            return
        now = time.monotonic()
        silent = [
            key
            for key, at in self._requested_at.items()
            if now - at > SILENT_LINE_SECONDS and key in self._subscribed and not book.has_quote(key)
        ]
        async with self._sync_lock:
            for key in silent:
                contract = self._subscribed.get(key)
                if contract is None or not ib.isConnected():
                    continue
                await self._pacer.take()
                ib.cancelMktData(contract)
                await self._pacer.take()
                ib.reqMktData(contract, "", False, False)
                self._requested_at[key] = time.monotonic()
        if silent:
            log.warning("market data lines without a quote requested again", extra={"lines": len(silent)})

    def _spot_moved(self) -> None:
        """Re-centre when the money moved far enough (the plan keeps its centre otherwise)."""
        if self._plan is None or self.book is None or self.book.spot is None:
            return
        settings = self._settings()
        plan = plan_subscriptions(
            self._strikes,
            self.book.spot,
            max_lines=settings.max_market_data_lines,
            strike_window=settings.strike_window,
            current=self._plan,
        )
        if plan is not self._plan:
            self._resync.set()

    async def _sync(self, ib: IB) -> None:
        async with self._sync_lock:
            book = self.book
            if book is None or self._underlying is None:
                return
            stale: dict[OptionKey, Contract] = {}
            if self._resubscribe_all:
                # 1101: the gateway dropped every subscription; request them all again,
                # the underlying first (the plan needs its quote).
                self._resubscribe_all = False
                stale = dict(self._subscribed)
                self._subscribed.clear()
                self._requested_at.clear()
                await self._pacer.take()
                self._underlying_ticker = ib.reqMktData(self._underlying, "", False, False)
                self._metrics.subscribed_lines.set(self.lines_in_use)
                await self._wait_for_spot()
            spot = book.spot
            if spot is None:
                return
            settings = self._settings()
            self._metrics.line_budget.set(settings.max_market_data_lines)
            plan = plan_subscriptions(
                self._strikes,
                spot,
                max_lines=settings.max_market_data_lines,
                strike_window=settings.strike_window,
                current=self._plan,
            )
            before = frozenset(self._subscribed)
            change = plan_change(before, plan, spot)
            now = time.monotonic()
            wanted = [
                k
                for k in change.request
                if k not in self._unlisted and self._refused_until.get(k, 0.0) <= now
            ]
            if (
                change.empty
                and not stale
                and plan is self._plan
                and not (set(wanted) - set(self._subscribed))
            ):
                self._mark_in_sync()
                return
            missing = [k for k in wanted if k not in self._qualified and k not in stale]
            for key, contract in stale.items():
                self._qualified.setdefault(key, contract)
            if missing:
                await self._qualify(ib, book, missing)
            book.set_strikes(plan.strikes)
            for key in change.cancel:
                self._requested_at.pop(key, None)
                if key in self._subscribed:
                    subscribed = self._subscribed.pop(key)
                    await self._pacer.take()
                    ib.cancelMktData(subscribed)
                    self._metrics.subscribed_lines.set(self.lines_in_use)
            for key in wanted:
                if key in self._subscribed or not ib.isConnected():
                    continue
                qualified = self._qualified.get(key)
                if qualified is None:
                    continue
                await self._pacer.take()
                ib.reqMktData(qualified, "", False, False)
                self._subscribed[key] = qualified
                self._requested_at[key] = time.monotonic()
                self._metrics.subscribed_lines.set(self.lines_in_use)
            self._plan = plan
            self._mark_in_sync()
            log.info(
                "market data subscriptions in sync",
                extra={
                    "center_strike": self._strikes[plan.center],
                    "strikes": len(plan.strikes),
                    "lines": self.lines_in_use,
                    "budget": settings.max_market_data_lines,
                    "cancelled": len(change.cancel),
                    "requested": len(wanted),
                },
            )

    def _mark_in_sync(self) -> None:
        if not self._in_sync:
            self._in_sync = True
            self.generation += 1

    async def _qualify(self, ib: IB, book: ChainBook, keys: list[OptionKey]) -> None:
        expiry = book.expiry.strftime("%Y%m%d")
        contracts = [
            Option(book.underlying, expiry, key.strike, "C" if key.is_call else "P", "SMART", currency="USD")
            for key in keys
        ]
        results: list[Any] = []
        for start in range(0, len(contracts), QUALIFY_CHUNK):
            chunk = contracts[start : start + QUALIFY_CHUNK]
            for _ in chunk:
                await self._pacer.take()
            results.extend(await self._bounded(ib.qualifyContractsAsync(*chunk), "qualify options"))
        for key, contract, result in zip(keys, contracts, results, strict=True):
            if result is None or not contract.conId:
                self._unlisted.add(key)
                log.warning(
                    "option not qualified; not watched", extra={"strike": key.strike, "call": key.is_call}
                )
                continue
            self._qualified[key] = contract
            self._conid_keys[contract.conId] = key

    # -- ib_async events (synchronous callbacks in the event loop) ------------------------

    def _on_tickers(self, tickers: set[Ticker]) -> None:
        book = self.book
        if book is None:
            return
        underlying = self._underlying.conId if self._underlying is not None else None
        update = apply_tickers(book, tickers, underlying, self._conid_keys, self.now_ns())
        if update.bad:
            self._metrics.bad_ticks.inc(update.bad)
        if update.changed:
            self._metrics.quotes.inc(update.changed)
            self._on_book_change()
        if update.underlying_changed:
            self._spot_moved()

    def _on_error(self, req_id: int, code: int, message: str, contract: Contract | None) -> None:
        self._metrics.gateway_errors.labels(str(code)).inc()
        if code in LOST_CODES:
            self._lost.add(LOST_CODES[code])
            self._metrics.connected.set(0)
            log.warning("gateway connectivity lost", extra={"code": code, "gateway_message": message})
        elif code in (RESTORED_DATA_KEPT, RESTORED_DATA_LOST):
            self._lost.discard("gateway")
            log.info(
                "gateway connectivity restored", extra={"code": code, "data_lost": code == RESTORED_DATA_LOST}
            )
            if code == RESTORED_DATA_LOST:
                self._resubscribe_all = True
                self._in_sync = False
                if self.book is not None:
                    self.book.forget_quotes()
                self._resync.set()
        elif code == FARM_OK:
            self._lost.discard("market data farm")
        elif code == MAX_TICKERS_REACHED:
            key = self._conid_keys.get(contract.conId) if contract is not None else None
            if key is not None:
                self._subscribed.pop(key, None)
                self._requested_at.pop(key, None)
                self._refused_until[key] = time.monotonic() + REFUSED_LINE_HOLD_SECONDS
                self._metrics.subscribed_lines.set(self.lines_in_use)
            log.error(
                "gateway refused a market-data line (line budget reached)",
                extra={"code": code, "strike": key.strike if key else None, "gateway_message": message},
            )
        if self._connected and not self._lost:
            self._metrics.connected.set(1)
