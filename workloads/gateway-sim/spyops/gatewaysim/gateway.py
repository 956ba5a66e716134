"""The simulated gateway's state and request handling.

One ``Gateway`` serves every connection. It owns the contract catalog, the market
state, orders, executions and the paper account, so all of these survive client
reconnects and simulated restarts. Handlers are synchronous: each request is answered
completely before the next one is read, which keeps replies in the order TWS sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from spyops.gatewaysim import messages as msg
from spyops.gatewaysim import versions
from spyops.gatewaysim.account import AccountBook
from spyops.gatewaysim.contracts import ContractCatalog, ContractSpec
from spyops.gatewaysim.market import MarketState, QuoteSource, frame_tick
from spyops.gatewaysim.matching import LegSpec, Match, commission_increment, evaluate
from spyops.gatewaysim.metrics import GatewayMetrics
from spyops.gatewaysim.orders import (
    ExecutionRecord,
    OrderContract,
    OrderRecord,
    PlaceOrderRequest,
    parse_place_order,
    read_contract,
)
from spyops.gatewaysim.protocol import (
    MARKET_DATA_DELAYED,
    MARKET_DATA_DELAYED_FROZEN,
    MARKET_DATA_FROZEN,
    MARKET_DATA_LIVE,
    NO_REQUEST_ID,
    Code,
    In,
    error_text,
)
from spyops.gatewaysim.session import ClientSession
from spyops.gatewaysim.wire import FieldReader, MalformedMessageError, split_fields
from spyops.schemas import AnomalyKind, OptionRight

log = logging.getLogger("spyops.gatewaysim.gateway")

SUPPORTED_ORDER_TYPES = frozenset({"LMT", "MKT"})
SUPPORTED_TIFS = frozenset({"DAY", "GTC", "IOC"})
SEC_DEF_EXCHANGES = ("SMART", "CBOE")
# Requests the simulator does not serve, and where their request id sits (historical
# data, depth, real-time bars, scanners, news, tick-by-tick, ...).
UNSUPPORTED_REQUEST_ID_FIELD = {
    10: 2, 20: 1, 21: 2, 22: 1, 50: 2, 52: 2, 54: 2, 55: 2, 79: 1, 81: 1,
    83: 1, 84: 1, 86: 1, 87: 1, 88: 1, 96: 1, 97: 1,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    account: str = "DU1234567"
    market_data_lines: int = 100
    max_messages_per_second: int = 50
    # Consecutive seconds over the message rate after which the client is disconnected,
    # as TWS eventually does.
    pacing_disconnect_after_seconds: int = 5
    max_frame_bytes: int = 1 << 20
    max_write_buffer_bytes: int = 16 << 20
    step_seconds: float = 0.1
    publish_interval_seconds: float = 0.1
    underlying_publish_interval_seconds: float = 0.25
    max_steps_per_cycle: int = 200


class Gateway:
    def __init__(
        self,
        source: QuoteSource,
        *,
        config: GatewayConfig | None = None,
        session_time: Callable[[], dt.datetime] | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.config = config or GatewayConfig()
        self.source = source
        self.catalog = ContractCatalog(source.underlying, source.expiry, source.strikes)
        self.market = MarketState(self.catalog)
        self.metrics = metrics or GatewayMetrics()
        self._session_time = session_time or (lambda: self.source.now)
        self.sessions: set[ClientSession] = set()
        self.clients: dict[int, ClientSession] = {}
        self.orders: dict[tuple[int, int], OrderRecord] = {}
        self.orders_by_perm: dict[int, OrderRecord] = {}
        self.open_orders: dict[int, OrderRecord] = {}  # permId -> order
        self.max_order_id: dict[int, int] = {}
        self.executions: list[ExecutionRecord] = []
        self.book = AccountBook(account=self.config.account)
        self.subscribers: dict[int, dict[ClientSession, set[int]]] = {}
        self.dirty: set[int] = set()
        self._account_dirty: set[int] = set()
        # Server-side time from a placeOrder's arrival to its fill being written, for
        # orders marketable on arrival (the last 1000).
        self.fill_latencies: deque[float] = deque(maxlen=1000)
        self.connectivity_ok = True
        self.market_data_paused = False
        self._next_perm_id = 1_000_001
        self._exec_seq = 0
        self._connection_seq = 0
        self._last_underlying_publish = 0.0
        self._handlers: dict[int, Callable[[ClientSession, FieldReader], None]] = {
            In.START_API: self._start_api,
            In.REQ_IDS: self._req_ids,
            In.REQ_CURRENT_TIME: self._req_current_time,
            In.REQ_MANAGED_ACCTS: self._req_managed_accounts,
            In.REQ_MARKET_DATA_TYPE: self._req_market_data_type,
            In.REQ_CONTRACT_DATA: self._req_contract_details,
            In.REQ_SEC_DEF_OPT_PARAMS: self._req_sec_def_opt_params,
            In.REQ_MKT_DATA: self._req_mkt_data,
            In.CANCEL_MKT_DATA: self._cancel_mkt_data,
            In.PLACE_ORDER: self._place_order,
            In.CANCEL_ORDER: self._cancel_order,
            In.REQ_GLOBAL_CANCEL: self._req_global_cancel,
            In.REQ_OPEN_ORDERS: self._req_open_orders,
            In.REQ_ALL_OPEN_ORDERS: self._req_all_open_orders,
            In.REQ_AUTO_OPEN_ORDERS: self._req_auto_open_orders,
            In.REQ_COMPLETED_ORDERS: self._req_completed_orders,
            In.REQ_EXECUTIONS: self._req_executions,
            In.REQ_POSITIONS: self._req_positions,
            In.CANCEL_POSITIONS: self._cancel_positions,
            In.REQ_ACCT_DATA: self._req_account_updates,
            In.REQ_ACCOUNT_SUMMARY: self._req_account_summary,
            In.CANCEL_ACCOUNT_SUMMARY: self._cancel_account_summary,
            In.REQ_ACCOUNT_UPDATES_MULTI: self._req_account_updates_multi,
            In.CANCEL_ACCOUNT_UPDATES_MULTI: self._cancel_account_updates_multi,
            In.REQ_POSITIONS_MULTI: self._req_positions_multi,
            In.CANCEL_POSITIONS_MULTI: self._cancel_request_noop,
            In.REQ_PNL: self._req_pnl,
            In.CANCEL_PNL: self._cancel_pnl,
            In.REQ_PNL_SINGLE: self._req_pnl_single,
            In.CANCEL_PNL_SINGLE: self._cancel_pnl_single,
        }
        self.market_closed = False
        self.dirty.update(self.market.apply(source.arrays))

    # time ---------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self._session_time()

    def connection_time_text(self) -> str:
        local = self.now().astimezone(msg.EASTERN)
        return f"{local:%Y%m%d %H:%M:%S} {local.tzname()}"

    # connections ------------------------------------------------------------------
    def new_session(self) -> ClientSession:
        self._connection_seq += 1
        return ClientSession(self, self._connection_seq)

    def connection_opened(self, session: ClientSession) -> None:
        self.sessions.add(session)
        self.metrics.connections.inc()
        log.info("connection %d from %s", session.connection_id, session.peer)

    def connection_closed(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        if session.client_id is not None and self.clients.get(session.client_id) is session:
            del self.clients[session.client_id]
        for req_id in list(session.subscriptions):
            self._remove_subscription(session, req_id)
        self.metrics.connected_clients.set(len(self.clients))
        log.info("connection %d (client %s) closed", session.connection_id, session.client_id)

    def protocol_violation(self, session: ClientSession, reason: str) -> None:
        log.warning("dropping connection %d (%s): %s", session.connection_id, session.peer, reason)
        self.metrics.protocol_violations.inc()
        if session.server_version is not None:
            session.send(
                msg.error(
                    NO_REQUEST_ID,
                    Code.BAD_MESSAGE_LENGTH,
                    error_text(Code.BAD_MESSAGE_LENGTH, detail=reason),
                    version=session.version,
                )
            )
        # A graceful close delivers the error first; nothing more is read from this client.
        session.close()

    def drop_all_connections(self) -> int:
        sessions = list(self.sessions)
        for session in sessions:
            session.abort()
        return len(sessions)

    # request dispatch ---------------------------------------------------------------
    def handle_frame(self, session: ClientSession, payload: bytes) -> None:
        session.messages_in += 1
        now = time.monotonic()
        if not self._admit(session, now):
            return
        req_id: int | None = None
        try:
            fields = split_fields(payload)
            try:
                msg_id = int(fields[0])
            except ValueError:
                raise MalformedMessageError(f"message id {fields[0][:20]!r} is not an integer") from None
            handler = self._handlers.get(msg_id)
            if handler is None:
                # Answer with the request's id when it has one, so the client's pending
                # request ends with this error instead of waiting forever.
                position = UNSUPPORTED_REQUEST_ID_FIELD.get(msg_id)
                target = None
                if position is not None and position < len(fields) and fields[position].lstrip("-").isdigit():
                    target = int(fields[position])
                # 321 would be a warning to ib_async; 322 ends the pending request.
                self.metrics.unsupported_requests.inc()
                self._error(
                    session,
                    target if target is not None else NO_REQUEST_ID,
                    Code.PROCESSING_ERROR,
                    detail=f"message id {msg_id} is not supported by the spyops gateway simulator",
                )
                return
            if session.client_id is None and msg_id != In.START_API:
                raise MalformedMessageError(f"message {msg_id} before startApi")
            self.metrics.messages_in.labels(str(msg_id)).inc()
            reader = FieldReader(fields, msg_id)
            try:
                handler(session, reader)
            finally:
                req_id = reader.req_id
        except MalformedMessageError as exc:
            self.metrics.bad_messages.inc()
            target = (
                exc.req_id if exc.req_id is not None else (req_id if req_id is not None else NO_REQUEST_ID)
            )
            self._error(session, target, Code.VALIDATION_ERROR, detail=str(exc))
        except Exception as exc:  # a bug must not take the gateway down for everyone
            log.exception("request from client %s failed", session.client_id)
            self.metrics.handler_failures.inc()
            self._error(
                session,
                req_id if req_id is not None else NO_REQUEST_ID,
                Code.PROCESSING_ERROR,
                detail=repr(exc)[:200],
            )

    def _admit(self, session: ClientSession, now: float) -> bool:
        """IB's 50 messages/second: excess messages are refused with error 100."""
        recent = session.recent_in
        while recent and now - recent[0] > 1.0:
            recent.popleft()
        if len(recent) < self.config.max_messages_per_second:
            recent.append(now)
            return True
        self.metrics.pacing_violations.inc()
        second = int(now)
        if session.pacing_notified_second != second:
            session.pacing_notified_second = second
            violations = session.pacing_violation_seconds
            if violations and violations[-1] != second - 1:
                violations.clear()
            violations.append(second)
            session.send(
                msg.error(
                    NO_REQUEST_ID,
                    Code.PACING,
                    error_text(Code.PACING, received=len(recent) + 1),
                    version=session.version,
                )
            )
            if len(violations) >= self.config.pacing_disconnect_after_seconds:
                log.warning(
                    "client %s exceeded the message rate for %d seconds; disconnecting",
                    session.client_id,
                    len(violations),
                )
                session.close()
        return False

    def _error(self, session: ClientSession, req_id: int, code: Code, **values: object) -> None:
        self.metrics.errors.labels(str(int(code))).inc()
        session.send(msg.error(req_id, code, error_text(code, **values), version=session.version))

    # startup and ids ----------------------------------------------------------------
    def _start_api(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        client_id = reader.integer("clientId")
        if reader.remaining:
            reader.text("optionalCapabilities")
        if session.client_id is not None:
            raise MalformedMessageError(
                f"startApi sent twice (client id {session.client_id} already started)"
            )
        existing = self.clients.get(client_id)
        if existing is not None and not existing.closed:
            self._error(session, NO_REQUEST_ID, Code.CLIENT_ID_IN_USE)
            session.close()
            return
        session.client_id = client_id
        self.clients[client_id] = session
        self.metrics.connected_clients.set(len(self.clients))
        session.send(msg.managed_accounts([self.config.account]))
        session.send(msg.next_valid_id(self._next_order_id(client_id)))
        if self.connectivity_ok:
            for code in (Code.MARKET_DATA_FARM_OK, Code.HMDS_FARM_OK, Code.SEC_DEF_FARM_OK):
                self._error(session, NO_REQUEST_ID, code)
        else:
            self._error(session, NO_REQUEST_ID, Code.CONNECTIVITY_LOST)
        log.info("client %d started on connection %d", client_id, session.connection_id)

    def _next_order_id(self, client_id: int) -> int:
        return self.max_order_id.get(client_id, 0) + 1

    def _req_ids(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        reader.integer("numIds", default=1)
        assert session.client_id is not None
        session.send(msg.next_valid_id(self._next_order_id(session.client_id)))

    def _req_current_time(self, session: ClientSession, reader: FieldReader) -> None:
        session.send(msg.current_time(int(self.now().timestamp())))

    def _req_managed_accounts(self, session: ClientSession, reader: FieldReader) -> None:
        session.send(msg.managed_accounts([self.config.account]))

    def _req_market_data_type(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        data_type = reader.integer("marketDataType")
        if data_type not in (
            MARKET_DATA_LIVE,
            MARKET_DATA_FROZEN,
            MARKET_DATA_DELAYED,
            MARKET_DATA_DELAYED_FROZEN,
        ):
            raise MalformedMessageError(f"reqMarketDataType: market data type must be 1..4, got {data_type}")
        session.market_data_type = data_type

    # contracts ------------------------------------------------------------------------
    def _req_contract_details(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        query = read_contract(reader)
        reader.flag("includeExpired")
        sec_id_type = reader.text("secIdType")
        reader.text("secId")
        if session.version >= versions.BOND_ISSUERID:
            reader.text("issuerId")
        found = [] if sec_id_type else self.catalog.find(query)
        if not found:
            self._error(session, req_id, Code.NO_SECURITY_DEFINITION)
            return
        session_date = self.now().astimezone(msg.EASTERN).date()
        exchange = query.exchange.upper() if query.exchange else "SMART"
        session.send_many(
            [
                msg.contract_details(
                    req_id, spec, exchange=exchange, session_date=session_date, version=session.version
                )
                for spec in found
            ]
            + [msg.contract_details_end(req_id)],
            len(found) + 1,
        )

    def _req_sec_def_opt_params(self, session: ClientSession, reader: FieldReader) -> None:
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        symbol = reader.text("underlyingSymbol")
        fut_fop_exchange = reader.text("futFopExchange")
        sec_type = reader.text("underlyingSecType")
        con_id = reader.integer("underlyingConId", default=0)
        stock = self.catalog.stock
        if (
            symbol.upper() != stock.symbol
            or (sec_type and sec_type.upper() != "STK")
            or (con_id and con_id != stock.con_id)
            or fut_fop_exchange
        ):
            self._error(session, req_id, Code.NO_SECURITY_DEFINITION)
            return
        expirations = [f"{self.catalog.expiry:%Y%m%d}"]
        replies = [
            msg.sec_def_opt_params(req_id, exchange, stock.trading_class, expirations, self.catalog.strikes)
            for exchange in SEC_DEF_EXCHANGES
        ]
        replies.append(msg.sec_def_opt_params_end(req_id))
        session.send_many(replies, len(replies))

    # market data ------------------------------------------------------------------------
    def _effective_data_type(self, session: ClientSession) -> int:
        """The type TWS reports: live when streaming (the paper account has live permissions)."""
        wants_frozen = session.market_data_type in (MARKET_DATA_FROZEN, MARKET_DATA_DELAYED_FROZEN)
        streaming = self.connectivity_ok and not self.market_data_paused
        return MARKET_DATA_FROZEN if (wants_frozen and not streaming) else MARKET_DATA_LIVE

    def _req_mkt_data(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        query = read_contract(reader)
        is_combo = query.sec_type.upper() == "BAG"
        if is_combo:
            reader.skip(4 * reader.count("comboLegsCount", limit=8), "comboLeg")
        if reader.flag("deltaNeutralContractPresent"):
            reader.skip(3, "deltaNeutralContract")
        reader.text("genericTickList")
        snapshot = reader.flag("snapshot")
        reader.flag("regulatorySnapshot")
        reader.text("mktDataOptions")
        if is_combo:
            self._error(
                session,
                req_id,
                Code.PROCESSING_ERROR,
                detail="combo (BAG) market data is not supported by the spyops gateway simulator",
            )
            return
        if req_id in session.subscriptions:
            self._error(session, req_id, Code.DUPLICATE_TICKER_ID)
            return
        spec = self.catalog.resolve(query)
        if spec is None:
            self._error(session, req_id, Code.NO_SECURITY_DEFINITION)
            return
        if not snapshot:
            if spec.con_id not in self.subscribers and len(self.subscribers) >= self.config.market_data_lines:
                self._error(session, req_id, Code.MAX_TICKERS)
                return
            session.subscriptions[req_id] = spec.con_id
            self.subscribers.setdefault(spec.con_id, {}).setdefault(session, set()).add(req_id)
            self.metrics.market_data_lines.set(len(self.subscribers))
        rid = str(req_id).encode()
        replies = [
            msg.market_data_type(req_id, self._effective_data_type(session)),
            msg.tick_req_params(req_id),
        ]
        replies += [frame_tick(head, rid, tail) for head, tail in self.market.full_payloads(spec.con_id)]
        if snapshot:
            replies.append(msg.tick_snapshot_end(req_id))
        session.send_many(replies, len(replies))

    def _cancel_mkt_data(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        if req_id not in session.subscriptions:
            self._error(session, req_id, Code.CANT_FIND_EID, ticker_id=req_id)
            return
        self._remove_subscription(session, req_id)

    def _remove_subscription(self, session: ClientSession, req_id: int) -> None:
        con_id = session.subscriptions.pop(req_id, None)
        if con_id is None:
            return
        by_session = self.subscribers.get(con_id)
        if by_session is None:
            return
        req_ids = by_session.get(session)
        if req_ids is not None:
            req_ids.discard(req_id)
            if not req_ids:
                del by_session[session]
        if not by_session:
            del self.subscribers[con_id]
            # Nobody holds this contract's published view any more; a new subscriber
            # starts from the current quote.
            self.market.published.pop(con_id, None)
        self.metrics.market_data_lines.set(len(self.subscribers))

    def drop_all_subscriptions(self) -> None:
        for session in list(self.sessions):
            for req_id in list(session.subscriptions):
                self._remove_subscription(session, req_id)

    def publish(self, wall: float) -> int:
        """Send quote changes since the last cycle to their subscribers; returns messages sent."""
        if self.market_data_paused or not self.connectivity_ok or not self.dirty:
            return 0
        underlying = self.catalog.stock.con_id
        hold_underlying = underlying in self.dirty and (
            wall - self._last_underlying_publish < self.config.underlying_publish_interval_seconds
        )
        batches: dict[ClientSession, list[bytes]] = {}
        updates = 0  # ticker refreshes: one per subscription whose contract changed
        for con_id in self.dirty:
            if con_id == underlying and hold_underlying:
                continue
            by_session = self.subscribers.get(con_id)
            if not by_session:
                continue
            payloads = self.market.diff_payloads(con_id)
            if not payloads:
                continue
            for session, req_ids in by_session.items():
                updates += len(req_ids)
                batch = batches.get(session)
                if batch is None:
                    batch = batches[session] = []
                for req_id in req_ids:
                    rid = str(req_id).encode()
                    batch.extend(frame_tick(head, rid, tail) for head, tail in payloads)
        if hold_underlying:
            self.dirty = {underlying}
        else:
            self.dirty = set()
            self._last_underlying_publish = wall
        sent = 0
        for session, batch in batches.items():
            session.send_many(batch, len(batch))
            sent += len(batch)
        self.metrics.ticks_out.inc(sent)
        self.metrics.quote_updates.inc(updates)
        return sent

    def set_market_data_paused(self, paused: bool) -> None:
        if paused == self.market_data_paused:
            return
        self.market_data_paused = paused
        self._announce_data_type()

    def _announce_data_type(self) -> None:
        for session in list(self.sessions):
            if session.market_data_type in (MARKET_DATA_FROZEN, MARKET_DATA_DELAYED_FROZEN):
                data_type = self._effective_data_type(session)
                for req_id in session.subscriptions:
                    session.send(msg.market_data_type(req_id, data_type))

    # market steps -----------------------------------------------------------------------
    def on_snapshot_applied(self, changed: Iterable[int]) -> None:
        self.dirty.update(changed)
        if not self.connectivity_ok:
            return
        now = self.now()
        if self.open_orders:
            for order in list(self.open_orders.values()):
                self._try_fill(order, now)

    def close_market(self) -> None:
        """The 0DTE session is over: no more quotes move, and DAY orders expire."""
        if self.market_closed:
            return
        self.market_closed = True
        now = self.now()
        log.info("market closed at %s; cancelling DAY orders", now.isoformat())
        for order in list(self.open_orders.values()):
            if order.tif == "DAY":
                self._cancel(order, now, reason="")

    # orders ---------------------------------------------------------------------------
    def _place_order(self, session: ClientSession, reader: FieldReader) -> None:
        received = time.perf_counter()
        request = parse_place_order(reader, version=session.version)
        client_id = session.client_id
        assert client_id is not None
        existing = self.orders.get((client_id, request.order_id))
        if existing is not None:
            self._modify_order(session, existing, request)
            return
        if request.order_id <= self.max_order_id.get(client_id, 0):
            self._error(session, request.order_id, Code.DUPLICATE_ORDER_ID)
            return
        reason = self._validate(request)
        contract: OrderContract | None = None
        if reason is None:
            contract = self._order_contract(request)
            if contract is None:
                self.max_order_id[client_id] = request.order_id
                self._error(session, request.order_id, Code.NO_SECURITY_DEFINITION)
                return
            reason = self._validate_price(request)
        self.max_order_id[client_id] = request.order_id
        if reason is not None:
            self.metrics.orders.labels("rejected").inc()
            self._error(session, request.order_id, Code.ORDER_REJECTED, reason=reason)
            return
        assert contract is not None
        now = self.now()
        order = OrderRecord(
            client_id=client_id,
            order_id=request.order_id,
            perm_id=self._next_perm_id,
            contract=contract,
            action=request.action,
            total_quantity=int(request.total_quantity),
            order_type=request.order_type,
            lmt_price=request.lmt_price if request.order_type == "LMT" else None,
            aux_price=request.aux_price,
            tif=request.tif,
            account=self.config.account,
            order_ref=request.order_ref,
            oca_group=request.oca_group,
            open_close=request.open_close,
            origin=request.origin,
            outside_rth=request.outside_rth,
            hidden=request.hidden,
            display_size=request.display_size,
            good_till_date=request.good_till_date,
            status="Submitted",
            created_at=now,
        )
        if request.what_if:
            self._what_if(session, order)
            return
        self._next_perm_id += 1
        self.orders[(client_id, order.order_id)] = order
        self.orders_by_perm[order.perm_id] = order
        self.open_orders[order.perm_id] = order
        self.metrics.orders.labels("placed").inc()
        session.send_many([msg.open_order(order, version=session.version), msg.order_status(order)], 2)
        if self.connectivity_ok:
            self._try_fill(order, now)
            if order.filled:
                elapsed = time.perf_counter() - received
                self.fill_latencies.append(elapsed)
                self.metrics.order_to_fill_seconds.observe(elapsed)
        if order.tif == "IOC" and order.is_open:
            self._cancel(order, now, reason="")

    def _validate(self, request: PlaceOrderRequest) -> str | None:
        if request.has_conditions:
            return "conditional orders are not supported by the simulator"
        if not request.transmit or request.parent_id:
            return "untransmitted and child (bracket) orders are not supported by the simulator"
        if request.action not in ("BUY", "SELL"):
            return f"invalid action {request.action!r}; use BUY or SELL"
        if request.total_quantity <= 0 or request.total_quantity != int(request.total_quantity):
            return f"order quantity must be a positive whole number, got {request.total_quantity}"
        if request.order_type not in SUPPORTED_ORDER_TYPES:
            return f"order type {request.order_type!r} is not supported by the simulator (LMT, MKT)"
        if request.tif not in SUPPORTED_TIFS:
            return f"time in force {request.tif!r} is not supported by the simulator (DAY, GTC, IOC)"
        if request.algo_strategy:
            return "algo orders are not supported by the simulator"
        if request.account and request.account != self.config.account:
            return f"account {request.account!r} is not managed by this gateway"
        return None

    def _validate_price(self, request: PlaceOrderRequest) -> str | None:
        if request.order_type != "LMT":
            return None
        price = request.lmt_price
        if price is None:
            return "a limit order needs a limit price"
        cents = price * 100
        if abs(cents - round(cents)) > 1e-6:
            return f"limit price {price} does not conform to the minimum price variation of 0.01"
        if price <= 0 and request.contract.sec_type.upper() != "BAG":
            return f"limit price must be positive, got {price}"
        return None

    def _order_contract(self, request: PlaceOrderRequest) -> OrderContract | None:
        if request.contract.sec_type.upper() == "BAG":
            if not request.combo_legs:
                return None
            for leg in request.combo_legs:
                spec = self.catalog.by_con_id(leg.con_id)
                if spec is None or leg.ratio <= 0 or leg.action not in ("BUY", "SELL"):
                    return None
            return OrderContract(
                spec=None,
                combo_legs=tuple(request.combo_legs),
                symbol=request.contract.symbol or self.catalog.underlying,
                exchange=request.contract.exchange or "SMART",
                currency=request.contract.currency or "USD",
            )
        spec = self.catalog.resolve(request.contract)
        return None if spec is None else OrderContract(spec=spec)

    def _modify_order(self, session: ClientSession, order: OrderRecord, request: PlaceOrderRequest) -> None:
        if order.status == "Filled":
            self._error(session, request.order_id, Code.CANT_MODIFY_FILLED)
            return
        if not order.is_open:
            self._error(session, request.order_id, Code.DUPLICATE_ORDER_ID)
            return
        contract = self._order_contract(request)
        if contract is None or contract != order.contract or request.action != order.action:
            self._error(session, request.order_id, Code.ORDER_MODIFY_MISMATCH)
            return
        reason = self._validate(request) or self._validate_price(request)
        if reason is None and int(request.total_quantity) < order.filled:
            reason = f"quantity {int(request.total_quantity)} is below the {order.filled} already filled"
        if reason is not None:
            self._error(session, request.order_id, Code.ORDER_REJECTED, reason=reason)
            return
        order.total_quantity = int(request.total_quantity)
        order.order_type = request.order_type
        order.lmt_price = request.lmt_price if request.order_type == "LMT" else None
        order.tif = request.tif
        order.order_ref = request.order_ref
        self.metrics.orders.labels("modified").inc()
        now = self.now()
        if order.filled >= order.total_quantity:
            self._complete(order, "Filled", now)
        session.send_many([msg.open_order(order, version=session.version), msg.order_status(order)], 2)
        if order.is_open and self.connectivity_ok:
            self._try_fill(order, now)

    def _what_if(self, session: ClientSession, order: OrderRecord) -> None:
        equity = self.book.summary(self.market.marks(), self._multiplier, self._underlying_mark())[
            "EquityWithLoanValue"
        ]
        price = order.lmt_price
        if price is None:
            legs = self._legs(order)
            match = evaluate(
                action=order.action,
                order_type="MKT",
                limit_price=None,
                remaining=order.total_quantity,
                legs=legs,
                books=self.market.books,
                taken={},
            )
            price = match.net_price if match else 0.0
        spec = order.contract.spec
        multiplier = 100 if spec is None else spec.multiplier_value
        change = abs(price) * multiplier * order.total_quantity if order.action == "BUY" else 0.0
        state = [
            f"{v:.2f}" for v in (0.0, 0.0, equity, change, change, -change, change, change, equity - change)
        ]
        session.send(msg.open_order(order, version=session.version, what_if_state=state))

    def _legs(self, order: OrderRecord) -> list[LegSpec]:
        if order.contract.spec is not None:
            return [LegSpec(con_id=order.contract.spec.con_id, ratio=1, action="BUY")]
        return [
            LegSpec(con_id=leg.con_id, ratio=leg.ratio, action=leg.action)
            for leg in order.contract.combo_legs
        ]

    def _try_fill(self, order: OrderRecord, now: dt.datetime) -> None:
        if not order.is_open:
            return
        match = evaluate(
            action=order.action,
            order_type=order.order_type,
            limit_price=order.lmt_price,
            remaining=order.remaining,
            legs=self._legs(order),
            books=self.market.books,
            taken=self.market.taken,
        )
        if match is not None:
            self._execute(order, match, now)

    def _execute(self, order: OrderRecord, match: Match, now: dt.datetime) -> None:
        new_executions: list[ExecutionRecord] = []
        filled_before = order.filled
        order.filled += match.units
        order.avg_fill_price = round(
            (order.avg_fill_price * filled_before + match.net_price * match.units) / order.filled, 6
        )
        order.last_fill_price = match.net_price
        for leg in match.legs:
            spec = self.catalog.by_con_id(leg.con_id)
            assert spec is not None
            before = order.contracts_filled
            order.contracts_filled += leg.quantity
            commission = commission_increment(before, order.contracts_filled)
            order.commission += commission
            booking = self.book.book(
                con_id=spec.con_id,
                side=leg.action,
                quantity=leg.quantity,
                price=leg.price,
                multiplier=spec.multiplier_value,
                commission=commission,
            )
            self.market.take(spec.con_id, leg.action, leg.quantity)
            self.market.record_trade(spec.con_id, leg.price, leg.quantity, now)
            self.dirty.add(spec.con_id)
            leg_cum = order.leg_filled.get(spec.con_id, 0)
            order.leg_filled[spec.con_id] = leg_cum + leg.quantity
            new_executions.append(
                self._execution(
                    order,
                    spec.wire_fields(),
                    spec.con_id,
                    spec.sec_type,
                    spec.symbol,
                    leg.action,
                    leg.quantity,
                    leg.price,
                    leg_cum + leg.quantity,
                    now,
                    commission,
                    booking.realized_pnl,
                )
            )
            self.executions.append(new_executions[-1])
        if order.contract.is_combo:
            combo = self._execution(
                order,
                order.contract.wire_fields(),
                28812380,
                "BAG",
                order.contract.symbol,
                order.action,
                match.units,
                match.net_price,
                order.filled,
                now,
                0.0,
                None,
            )
            combo.avg_price = order.avg_fill_price
            new_executions.append(combo)
            self.executions.append(combo)
        if order.filled >= order.total_quantity:
            self._complete(order, "Filled", now)
        self.metrics.executions.inc(len(new_executions))
        session = self.clients.get(order.client_id)
        if session is not None:
            version = session.version
            replies = [msg.exec_details(NO_REQUEST_ID, e, version=version) for e in new_executions]
            replies += [msg.order_status(order), msg.open_order(order, version=version)]
            replies += [msg.commission_report(e) for e in new_executions if e.sec_type != "BAG"]
            session.send_many(replies, len(replies))
        # Positions go out with the fill; account values, portfolio and P&L are batched
        # into the next market cycle (IB too sends those as periodic updates).
        self._push_positions({leg.con_id for leg in match.legs})
        self._account_dirty.update(leg.con_id for leg in match.legs)

    def _execution(
        self,
        order: OrderRecord,
        contract_fields: list[object],
        con_id: int,
        sec_type: str,
        symbol: str,
        action: str,
        shares: int,
        price: float,
        cum_qty: int,
        now: dt.datetime,
        commission: float,
        realized: float | None,
    ) -> ExecutionRecord:
        self._exec_seq += 1
        exec_id = f"0000{order.perm_id:08x}.{self._exec_seq:08x}.01.01"
        order.execution_ids.append(exec_id)
        return ExecutionRecord(
            exec_id=exec_id,
            order=order,
            contract_fields=contract_fields,
            con_id=con_id,
            sec_type=sec_type,
            symbol=symbol,
            side="BOT" if action == "BUY" else "SLD",
            shares=shares,
            price=price,
            cum_qty=cum_qty,
            avg_price=price if sec_type != "BAG" else order.avg_fill_price,
            time=now,
            commission=commission,
            realized_pnl=realized,
        )

    def _complete(self, order: OrderRecord, status: str, now: dt.datetime) -> None:
        order.status = status
        order.completed_at = now
        order.completed_status = status
        self.open_orders.pop(order.perm_id, None)
        self.metrics.orders.labels(status.lower()).inc()

    def _cancel(self, order: OrderRecord, now: dt.datetime, *, reason: str) -> None:
        self._complete(order, "Cancelled", now)
        session = self.clients.get(order.client_id)
        if session is not None:
            session.send_many(
                [
                    msg.order_status(order),
                    msg.error(
                        order.order_id,
                        Code.ORDER_CANCELLED,
                        error_text(Code.ORDER_CANCELLED, reason=reason),
                        version=session.version,
                    ),
                ],
                2,
            )

    def _cancel_order(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        order_id = reader.integer("orderId")
        reader.req_id = order_id
        if session.version >= versions.MANUAL_ORDER_TIME:
            reader.text("manualOrderCancelTime")
        assert session.client_id is not None
        order = self.orders.get((session.client_id, order_id))
        if order is None:
            self._error(session, order_id, Code.CANT_FIND_ORDER, order_id=order_id)
            return
        if not order.is_open:
            self._error(session, order_id, Code.CANCEL_NOT_CANCELLABLE, perm_id=order.perm_id)
            return
        self._cancel(order, self.now(), reason="")

    def _req_global_cancel(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        now = self.now()
        for order in list(self.open_orders.values()):
            self._cancel(order, now, reason="Global Cancel")

    def _req_open_orders(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        self._send_open_orders(
            session, [o for o in self.open_orders.values() if o.client_id == session.client_id]
        )

    def _req_all_open_orders(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        self._send_open_orders(session, list(self.open_orders.values()))

    def _send_open_orders(self, session: ClientSession, orders: list[OrderRecord]) -> None:
        replies: list[bytes] = []
        for order in sorted(orders, key=lambda o: o.perm_id):
            replies += [msg.open_order(order, version=session.version), msg.order_status(order)]
        replies.append(msg.open_order_end())
        session.send_many(replies, len(replies))

    def _req_auto_open_orders(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        reader.flag("autoBind")  # manual TWS orders do not exist here; nothing to bind

    def _req_completed_orders(self, session: ClientSession, reader: FieldReader) -> None:
        reader.flag("apiOnly")
        done = sorted(
            (o for o in self.orders_by_perm.values() if not o.is_open),
            key=lambda o: o.completed_at or o.created_at or self.now(),
        )
        replies = [msg.completed_order(order, version=session.version) for order in done]
        replies.append(msg.completed_orders_end())
        session.send_many(replies, len(replies))

    def _req_executions(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        client_id = reader.integer("clientId", default=0)
        account = reader.text("acctCode")
        since = reader.text("time")
        symbol = reader.text("symbol").upper()
        sec_type = reader.text("secType").upper()
        exchange = reader.text("exchange").upper()
        side = reader.text("side").upper()
        since_time = _parse_filter_time(since) if since else None
        replies: list[bytes] = []
        for execution in self.executions:
            order = execution.order
            if client_id and order.client_id != client_id:
                continue
            if account and account != order.account:
                continue
            if since_time is not None and execution.time < since_time:
                continue
            if symbol and symbol != execution.symbol:
                continue
            if sec_type and sec_type != execution.sec_type:
                continue
            if exchange and exchange not in (execution.exchange, "SMART"):
                continue
            if side and side not in (execution.side, "BUY" if execution.side == "BOT" else "SELL"):
                continue
            replies.append(msg.exec_details(req_id, execution, version=session.version))
            if execution.sec_type != "BAG":
                replies.append(msg.commission_report(execution))
        replies.append(msg.exec_details_end(req_id))
        session.send_many(replies, len(replies))

    # account ----------------------------------------------------------------------------
    def _multiplier(self, con_id: int) -> int:
        spec = self.catalog.by_con_id(con_id)
        return 1 if spec is None else spec.multiplier_value

    def _underlying_mark(self) -> float:
        return self.market.mark(self.catalog.stock.con_id) or 0.0

    def account_values(self) -> dict[str, float]:
        return self.book.summary(self.market.marks(), self._multiplier, self._underlying_mark())

    def _positions(self) -> list[tuple[ContractSpec, int, float]]:
        result = []
        for position in self.book.positions.values():
            spec = self.catalog.by_con_id(position.con_id)
            if spec is not None:
                result.append((spec, position.quantity, position.avg_cost))
        return result

    def _req_positions(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        session.positions_subscribed = True
        replies = [
            msg.position(self.config.account, spec, quantity, avg_cost)
            for spec, quantity, avg_cost in self._positions()
            if quantity != 0
        ]
        replies.append(msg.position_end())
        session.send_many(replies, len(replies))

    def _cancel_positions(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        session.positions_subscribed = False

    def _account_value_messages(self) -> list[bytes]:
        account = self.config.account
        values = self.account_values()
        replies = [
            msg.account_value("AccountCode", account, "", account),
            msg.account_value("AccountType", "INDIVIDUAL", "", account),
            msg.account_value("Currency", "USD", "USD", account),
        ]
        replies += [msg.account_value(tag, f"{value:.2f}", "USD", account) for tag, value in values.items()]
        replies.append(msg.account_value("CashBalance", f"{self.book.cash:.2f}", "USD", account))
        return replies

    def _portfolio_messages(self, con_ids: Iterable[int] | None = None) -> list[bytes]:
        wanted = None if con_ids is None else set(con_ids)
        replies = []
        for position in self.book.positions.values():
            if wanted is not None and position.con_id not in wanted:
                continue
            spec = self.catalog.by_con_id(position.con_id)
            if spec is None:
                continue
            mark = self.market.mark(spec.con_id) or 0.0
            value = position.quantity * mark * spec.multiplier_value
            unrealized = value - position.quantity * position.avg_cost if position.quantity else 0.0
            replies.append(
                msg.portfolio_value(
                    spec,
                    position.quantity,
                    mark,
                    value,
                    position.avg_cost,
                    unrealized,
                    position.realized_pnl,
                    self.config.account,
                )
            )
        return replies

    def _req_account_updates(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        subscribe = reader.flag("subscribe")
        account = reader.text("acctCode")
        if account and account != self.config.account:
            raise MalformedMessageError(
                f"reqAccountUpdates: account {account!r} is not managed by this gateway"
            )
        session.account_updates_subscribed = subscribe
        if not subscribe:
            return
        replies = self._account_value_messages() + self._portfolio_messages()
        replies += [msg.account_time(self.now()), msg.account_download_end(self.config.account)]
        session.send_many(replies, len(replies))

    def _summary_values(self, tags: frozenset[str]) -> list[tuple[str, str, str]]:
        values = self.account_values()
        result: list[tuple[str, str, str]] = []
        if "AccountType" in tags:
            result.append(("AccountType", "INDIVIDUAL", ""))
        for tag, value in values.items():
            if tag in tags:
                result.append((tag, f"{value:.2f}", "USD"))
        if any(tag.startswith("$LEDGER") for tag in tags):
            result += [
                ("Currency", "USD", "USD"),
                ("CashBalance", f"{self.book.cash:.2f}", "USD"),
                ("TotalCashBalance", f"{self.book.cash:.2f}", "USD"),
                ("RealizedPnL", f"{values['RealizedPnL']:.2f}", "USD"),
                ("UnrealizedPnL", f"{values['UnrealizedPnL']:.2f}", "USD"),
                ("NetLiquidationByCurrency", f"{values['NetLiquidation']:.2f}", "USD"),
            ]
        return result

    def _req_account_summary(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        reader.text("groupName")
        tags = frozenset(tag.strip() for tag in reader.text("tags").split(",") if tag.strip())
        session.account_summary_requests[req_id] = tags
        replies = [
            msg.account_summary(req_id, self.config.account, tag, value, currency)
            for tag, value, currency in self._summary_values(tags)
        ]
        replies.append(msg.account_summary_end(req_id))
        session.send_many(replies, len(replies))

    def _cancel_account_summary(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        session.account_summary_requests.pop(reader.integer("reqId"), None)

    def _req_account_updates_multi(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        account = reader.text("account")
        reader.text("modelCode")
        reader.flag("ledgerAndNLV")
        if account and account != self.config.account:
            raise MalformedMessageError(
                f"reqAccountUpdatesMulti: account {account!r} is not managed by this gateway"
            )
        session.account_multi_requests.add(req_id)
        replies = [
            msg.account_update_multi(req_id, self.config.account, tag, value, currency)
            for tag, value, currency in self._summary_values(
                frozenset(self.account_values()) | {"AccountType"}
            )
        ]
        replies.append(msg.account_update_multi_end(req_id))
        session.send_many(replies, len(replies))

    def _cancel_account_updates_multi(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        session.account_multi_requests.discard(reader.integer("reqId"))

    def _req_positions_multi(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        reader.text("account")
        reader.text("modelCode")
        replies = [
            msg.position_multi(req_id, self.config.account, spec, quantity, avg_cost)
            for spec, quantity, avg_cost in self._positions()
            if quantity != 0
        ]
        replies.append(msg.position_multi_end(req_id))
        session.send_many(replies, len(replies))

    def _cancel_request_noop(self, session: ClientSession, reader: FieldReader) -> None:
        reader.integer("version")
        reader.integer("reqId")

    def _pnl_message(self, req_id: int) -> bytes:
        values = self.account_values()
        realized = values["RealizedPnL"]
        unrealized = values["UnrealizedPnL"]
        return msg.pnl(req_id, realized + unrealized, unrealized, realized)

    def _pnl_single_message(self, req_id: int, con_id: int) -> bytes:
        position = self.book.positions.get(con_id)
        if position is None:
            return msg.pnl_single(req_id, 0, 0.0, 0.0, 0.0, 0.0)
        mark = self.market.mark(con_id) or 0.0
        value = position.quantity * mark * self._multiplier(con_id)
        unrealized = value - position.quantity * position.avg_cost
        return msg.pnl_single(
            req_id,
            position.quantity,
            unrealized + position.realized_pnl,
            unrealized,
            position.realized_pnl,
            value,
        )

    def _req_pnl(self, session: ClientSession, reader: FieldReader) -> None:
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        reader.text("account")
        reader.text("modelCode")
        session.pnl_requests.add(req_id)
        session.send(self._pnl_message(req_id))

    def _cancel_pnl(self, session: ClientSession, reader: FieldReader) -> None:
        session.pnl_requests.discard(reader.integer("reqId"))

    def _req_pnl_single(self, session: ClientSession, reader: FieldReader) -> None:
        req_id = reader.integer("reqId")
        reader.req_id = req_id
        reader.text("account")
        reader.text("modelCode")
        con_id = reader.integer("conId")
        if self.catalog.by_con_id(con_id) is None:
            self._error(session, req_id, Code.NO_SECURITY_DEFINITION)
            return
        session.pnl_single_requests[req_id] = con_id
        session.send(self._pnl_single_message(req_id, con_id))

    def _cancel_pnl_single(self, session: ClientSession, reader: FieldReader) -> None:
        session.pnl_single_requests.pop(reader.integer("reqId"), None)

    def _push_positions(self, con_ids: set[int]) -> None:
        positions = [
            msg.position(self.config.account, spec, quantity, avg_cost)
            for spec, quantity, avg_cost in self._positions()
            if spec.con_id in con_ids
        ]
        for session in list(self.sessions):
            if session.positions_subscribed:
                session.send_many(positions, len(positions))

    def flush_account_updates(self) -> None:
        """Account values, portfolio and P&L changed by fills since the last cycle."""
        if not self._account_dirty:
            return
        con_ids, self._account_dirty = self._account_dirty, set()
        account_messages: list[bytes] | None = None
        portfolio: list[bytes] | None = None
        for session in list(self.sessions):
            replies: list[bytes] = []
            if session.account_updates_subscribed:
                if account_messages is None:
                    account_messages = self._account_value_messages()
                    portfolio = self._portfolio_messages(con_ids)
                assert portfolio is not None
                replies += account_messages + portfolio + [msg.account_time(self.now())]
            for req_id, tags in session.account_summary_requests.items():
                replies += [
                    msg.account_summary(req_id, self.config.account, tag, value, currency)
                    for tag, value, currency in self._summary_values(tags)
                ]
            replies += [self._pnl_message(req_id) for req_id in session.pnl_requests]
            replies += [
                self._pnl_single_message(req_id, con_id)
                for req_id, con_id in session.pnl_single_requests.items()
                if con_id in con_ids
            ]
            if replies:
                session.send_many(replies, len(replies))

    # control ------------------------------------------------------------------------------
    def set_connectivity(self, ok: bool, *, data_lost: bool = False) -> None:
        if ok == self.connectivity_ok:
            return
        self.connectivity_ok = ok
        if ok:
            code = Code.CONNECTIVITY_RESTORED_DATA_LOST if data_lost else Code.CONNECTIVITY_RESTORED_DATA_KEPT
            if data_lost:
                self.drop_all_subscriptions()
        else:
            code = Code.CONNECTIVITY_LOST
        for session in list(self.sessions):
            if session.client_id is not None:
                self._error(session, NO_REQUEST_ID, code)
        self._announce_data_type()

    def inject(
        self,
        kind: AnomalyKind,
        *,
        strike: float | None = None,
        right: OptionRight | None = None,
        size: float | None = None,
        duration_seconds: float | None = None,
    ) -> Any:
        self.metrics.anomalies.labels(kind.value).inc()
        return self.source.inject(
            kind, strike=strike, right=right, size=size, duration_seconds=duration_seconds
        )

    def orders_json(self, order_ref: str | None = None) -> list[dict[str, object]]:
        return [
            o.to_json()
            for o in sorted(self.orders_by_perm.values(), key=lambda o: o.perm_id)
            if order_ref is None or o.order_ref == order_ref
        ]

    def positions_json(self) -> list[dict[str, object]]:
        return [
            {
                "conId": spec.con_id,
                "localSymbol": spec.local_symbol,
                "position": quantity,
                "avgCost": round(avg_cost, 6),
                "marketPrice": self.market.mark(spec.con_id),
            }
            for spec, quantity, avg_cost in self._positions()
            if quantity != 0
        ]

    def clients_json(self) -> list[dict[str, object]]:
        now = time.monotonic()
        return [s.describe(now) for s in sorted(self.sessions, key=lambda s: s.connection_id)]


def _parse_filter_time(text: str) -> dt.datetime | None:
    """ExecutionFilter.time: ``yyyymmdd hh:mm:ss`` (optionally with a zone) or ``yyyymmdd-hh:mm:ss`` UTC."""
    cleaned = text.strip()
    try:
        if "-" in cleaned and len(cleaned.split("-")[0]) == 8:
            return dt.datetime.strptime(cleaned, "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC)
        parts = cleaned.split(" ")
        base = dt.datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S")
    except ValueError:
        raise MalformedMessageError(
            f"reqExecutions: filter time {text[:40]!r} is not 'yyyymmdd hh:mm:ss'"
        ) from None
    if len(parts) > 2:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return base.replace(tzinfo=ZoneInfo(parts[2]))
        except (ZoneInfoNotFoundError, ValueError):
            raise MalformedMessageError(f"reqExecutions: unknown time zone {parts[2][:40]!r}") from None
    return base.replace(tzinfo=msg.EASTERN)
