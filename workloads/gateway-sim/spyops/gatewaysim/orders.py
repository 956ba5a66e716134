"""Order and execution records the gateway keeps, and the parsing of ``placeOrder``.

Records survive client reconnects and simulated gateway restarts: they live in the
gateway, not in a connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from spyops.gatewaysim import versions
from spyops.gatewaysim.contracts import ContractQuery, ContractSpec
from spyops.gatewaysim.wire import UNSET_DOUBLE, FieldReader, MalformedMessageError

BAG_CON_ID: Final = 28812380  # IB gives every combo this conId
MAX_COMBO_LEGS: Final = 8
MAX_TAG_VALUES: Final = 64

OPEN_STATES: Final = frozenset({"PreSubmitted", "Submitted"})
DONE_STATES: Final = frozenset({"Filled", "Cancelled", "Inactive"})


@dataclass(frozen=True, slots=True)
class ComboLegWire:
    con_id: int
    ratio: int
    action: str
    exchange: str
    open_close: int = 0
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1


@dataclass(slots=True)
class PlaceOrderRequest:
    """The fields of a placeOrder message the simulator acts on (the rest are defaults)."""

    order_id: int
    contract: ContractQuery
    combo_legs: list[ComboLegWire]
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    open_close: str
    origin: int
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    hidden: bool
    display_size: int
    good_till_date: str
    algo_strategy: str
    what_if: bool
    has_conditions: bool = False


def _optional_price(value: float) -> float | None:
    return None if value == UNSET_DOUBLE or value >= 1e300 else value


def read_contract(reader: FieldReader) -> ContractQuery:
    return ContractQuery(
        con_id=reader.integer("conId", default=0),
        symbol=reader.text("symbol"),
        sec_type=reader.text("secType"),
        expiry=reader.text("lastTradeDateOrContractMonth"),
        strike=reader.number("strike", default=0.0),
        right=reader.text("right"),
        multiplier=reader.text("multiplier"),
        exchange=reader.text("exchange"),
        primary_exchange=reader.text("primaryExchange"),
        currency=reader.text("currency"),
        local_symbol=reader.text("localSymbol"),
        trading_class=reader.text("tradingClass"),
    )


def parse_place_order(reader: FieldReader, *, version: int) -> PlaceOrderRequest:
    """Read placeOrder as clients lay it out for the negotiated server ``version``.

    Reading stops after ``whatIf``: nothing after it changes how the simulator treats
    an order, and order conditions (variable layout) are refused anyway.
    """
    order_id = reader.integer("orderId")
    reader.req_id = order_id
    contract = read_contract(reader)
    reader.text("secIdType")
    reader.text("secId")
    action = reader.text("action").upper()
    total_quantity = reader.number("totalQuantity", default=0.0)
    order_type = reader.text("orderType").upper()
    lmt_price = _optional_price(reader.number("lmtPrice", default=UNSET_DOUBLE))
    aux_price = _optional_price(reader.number("auxPrice", default=UNSET_DOUBLE))
    tif = reader.text("tif").upper() or "DAY"
    oca_group = reader.text("ocaGroup")
    account = reader.text("account")
    open_close = reader.text("openClose")
    origin = reader.integer("origin", default=0)
    order_ref = reader.text("orderRef")
    transmit = reader.flag("transmit")
    parent_id = reader.integer("parentId", default=0)
    reader.flag("blockOrder")
    reader.flag("sweepToFill")
    display_size = reader.integer("displaySize", default=0)
    reader.integer("triggerMethod", default=0)
    outside_rth = reader.flag("outsideRth")
    hidden = reader.flag("hidden")
    combo_legs: list[ComboLegWire] = []
    if contract.sec_type.upper() == "BAG":
        for index in range(reader.count("comboLegsCount", limit=MAX_COMBO_LEGS)):
            combo_legs.append(
                ComboLegWire(
                    con_id=reader.integer(f"comboLeg[{index}].conId"),
                    ratio=reader.integer(f"comboLeg[{index}].ratio"),
                    action=reader.text(f"comboLeg[{index}].action").upper(),
                    exchange=reader.text(f"comboLeg[{index}].exchange"),
                    open_close=reader.integer(f"comboLeg[{index}].openClose", default=0),
                    short_sale_slot=reader.integer(f"comboLeg[{index}].shortSaleSlot", default=0),
                    designated_location=reader.text(f"comboLeg[{index}].designatedLocation"),
                    exempt_code=reader.integer(f"comboLeg[{index}].exemptCode", default=-1),
                )
            )
        reader.skip(reader.count("orderComboLegsCount", limit=MAX_COMBO_LEGS), "orderComboLeg.price")
        reader.skip(
            2 * reader.count("smartComboRoutingParamsCount", limit=MAX_TAG_VALUES), "smartComboRoutingParam"
        )
    reader.text("sharesAllocation")
    reader.number("discretionaryAmt", default=0.0)
    reader.text("goodAfterTime")
    good_till_date = reader.text("goodTillDate")
    reader.skip(3, "faGroup/faMethod/faPercentage")
    if version < versions.FA_PROFILE_DESUPPORT:
        reader.text("faProfile")
    reader.text("modelCode")
    reader.integer("shortSaleSlot", default=0)
    reader.text("designatedLocation")
    reader.integer("exemptCode", default=-1)
    reader.integer("ocaType", default=0)
    reader.skip(2, "rule80A/settlingFirm")
    reader.flag("allOrNone")
    reader.integer("minQty", default=0)
    reader.number("percentOffset", default=0.0)
    reader.skip(2, "eTradeOnly/firmQuoteOnly")
    reader.number("nbboPriceCap", default=0.0)
    reader.integer("auctionStrategy", default=0)
    reader.skip(5, "startingPrice/stockRefPrice/delta/stockRangeLower/stockRangeUpper")
    reader.flag("overridePercentageConstraints")
    reader.number("volatility", default=0.0)
    reader.integer("volatilityType", default=0)
    delta_neutral_order_type = reader.text("deltaNeutralOrderType")
    reader.number("deltaNeutralAuxPrice", default=0.0)
    if delta_neutral_order_type:
        reader.skip(8, "deltaNeutral")
    reader.flag("continuousUpdate")
    reader.integer("referencePriceType", default=0)
    reader.skip(2, "trailStopPrice/trailingPercent")
    reader.integer("scaleInitLevelSize", default=0)
    reader.integer("scaleSubsLevelSize", default=0)
    scale_increment = reader.number("scalePriceIncrement", default=UNSET_DOUBLE)
    if 0 < scale_increment < UNSET_DOUBLE:
        reader.skip(7, "scale")
    reader.skip(3, "scaleTable/activeStartTime/activeStopTime")
    if reader.text("hedgeType"):
        reader.text("hedgeParam")
    reader.flag("optOutSmartRouting")
    reader.skip(2, "clearingAccount/clearingIntent")
    reader.flag("notHeld")
    if reader.flag("deltaNeutralContractPresent"):
        reader.skip(3, "deltaNeutralContract")
    algo_strategy = reader.text("algoStrategy")
    if algo_strategy:
        reader.skip(2 * reader.count("algoParamsCount", limit=MAX_TAG_VALUES), "algoParam")
    reader.text("algoId")
    what_if = reader.flag("whatIf")
    reader.text("orderMiscOptions")
    reader.skip(3, "solicited/randomizeSize/randomizePrice")
    if order_type in ("PEG BENCH", "PEGBENCH"):
        reader.skip(5, "pegBench")
    has_conditions = reader.count("conditionsCount", limit=MAX_TAG_VALUES) > 0
    if not action:
        raise MalformedMessageError(
            "placeOrder: field 'action' is empty", msg_id=reader.msg_id, req_id=order_id
        )
    return PlaceOrderRequest(
        order_id=order_id,
        contract=contract,
        combo_legs=combo_legs,
        action=action,
        total_quantity=total_quantity,
        order_type=order_type,
        lmt_price=lmt_price,
        aux_price=aux_price,
        tif=tif,
        oca_group=oca_group,
        account=account,
        open_close=open_close,
        origin=origin,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        hidden=hidden,
        display_size=display_size,
        good_till_date=good_till_date,
        algo_strategy=algo_strategy,
        what_if=what_if,
        has_conditions=has_conditions,
    )


@dataclass(frozen=True, slots=True)
class OrderContract:
    """What an order trades: one contract, or a combo of legs (secType BAG)."""

    spec: ContractSpec | None  # None for a combo
    combo_legs: tuple[ComboLegWire, ...] = ()
    symbol: str = ""
    exchange: str = "SMART"
    currency: str = "USD"

    @property
    def is_combo(self) -> bool:
        return self.spec is None

    def wire_fields(self) -> list[object]:
        """conId..tradingClass as openOrder/completedOrder/execDetails carry them."""
        if self.spec is not None:
            return self.spec.wire_fields()
        return [BAG_CON_ID, self.symbol, "BAG", "", 0.0, "", "", self.exchange, self.currency, "", ""]


@dataclass(slots=True)
class OrderRecord:
    client_id: int
    order_id: int
    perm_id: int
    contract: OrderContract
    action: str
    total_quantity: int
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    account: str
    order_ref: str
    oca_group: str = ""
    open_close: str = ""
    origin: int = 0
    outside_rth: bool = False
    hidden: bool = False
    display_size: int = 0
    good_till_date: str = ""
    status: str = "PreSubmitted"
    filled: int = 0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    contracts_filled: int = 0  # all legs, for the per-order commission minimum
    commission: float = 0.0
    created_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    completed_status: str = ""
    execution_ids: list[str] = field(default_factory=list)
    leg_filled: dict[int, int] = field(default_factory=dict)  # conId -> contracts filled

    @property
    def remaining(self) -> int:
        return 0 if self.status in DONE_STATES else max(self.total_quantity - self.filled, 0)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    def to_json(self) -> dict[str, object]:
        spec = self.contract.spec
        return {
            "clientId": self.client_id,
            "orderId": self.order_id,
            "permId": self.perm_id,
            "orderRef": self.order_ref,
            "account": self.account,
            "action": self.action,
            "totalQuantity": self.total_quantity,
            "orderType": self.order_type,
            "lmtPrice": self.lmt_price,
            "tif": self.tif,
            "status": self.status,
            "filled": self.filled,
            "remaining": self.remaining,
            "avgFillPrice": self.avg_fill_price,
            "commission": round(self.commission, 2),
            "contract": (
                {"conId": spec.con_id, "localSymbol": spec.local_symbol, "secType": spec.sec_type}
                if spec is not None
                else {
                    "conId": BAG_CON_ID,
                    "secType": "BAG",
                    "legs": [
                        {"conId": leg.con_id, "ratio": leg.ratio, "action": leg.action}
                        for leg in self.contract.combo_legs
                    ],
                }
            ),
            "createdAt": self.created_at.isoformat() if self.created_at else None,
            "completedAt": self.completed_at.isoformat() if self.completed_at else None,
            "executionIds": list(self.execution_ids),
        }


@dataclass(slots=True)
class ExecutionRecord:
    exec_id: str
    order: OrderRecord
    contract_fields: list[object]  # conId..tradingClass of what was traded (leg or BAG)
    con_id: int
    sec_type: str
    symbol: str
    side: str  # BOT or SLD
    shares: int
    price: float
    cum_qty: int
    avg_price: float
    time: dt.datetime
    commission: float
    realized_pnl: float | None
    exchange: str = "CBOE"

    def to_json(self) -> dict[str, object]:
        return {
            "execId": self.exec_id,
            "orderId": self.order.order_id,
            "clientId": self.order.client_id,
            "permId": self.order.perm_id,
            "orderRef": self.order.order_ref,
            "conId": self.con_id,
            "secType": self.sec_type,
            "side": self.side,
            "shares": self.shares,
            "price": self.price,
            "cumQty": self.cum_qty,
            "avgPrice": self.avg_price,
            "time": self.time.isoformat(),
            "commission": self.commission,
            "realizedPnL": self.realized_pnl,
        }
