"""Outgoing TWS messages, laid out for the server version negotiated with the client.

Messages whose layout changes inside the simulator's version range take ``version``; the
others are the same at every version from 157 to 178 (see ``spyops.gatewaysim.versions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from spyops.gatewaysim import versions as v
from spyops.gatewaysim.contracts import UNDERLYING_CON_ID, ContractSpec
from spyops.gatewaysim.orders import ExecutionRecord, OrderRecord
from spyops.gatewaysim.protocol import UNSET_DOUBLE_TEXT, Out
from spyops.gatewaysim.wire import encode

EASTERN = ZoneInfo("America/New_York")


def ib_time(moment: dt.datetime) -> str:
    """``20261120 10:00:00 America/New_York``: TWS's date-time with its time zone."""
    local = moment.astimezone(EASTERN)
    return f"{local:%Y%m%d %H:%M:%S} America/New_York"


def error(req_id: int, code: int, text: str, *, version: int) -> bytes:
    fields: list[object] = [Out.ERR_MSG, 2, req_id, code, text]
    if version >= v.ADVANCED_ORDER_REJECT:
        fields.append("")  # advancedOrderRejectJson
    return encode(fields)


def managed_accounts(accounts: Sequence[str]) -> bytes:
    return encode([Out.MANAGED_ACCTS, 1, ",".join(accounts)])


def next_valid_id(order_id: int) -> bytes:
    return encode([Out.NEXT_VALID_ID, 1, order_id])


def current_time(epoch_seconds: int) -> bytes:
    return encode([Out.CURRENT_TIME, 1, epoch_seconds])


def contract_details(
    req_id: int, spec: ContractSpec, *, exchange: str, session_date: dt.date, version: int
) -> bytes:
    day = f"{session_date:%Y%m%d}"
    hours = f"{day}:0930-{day}:1600"
    if spec.is_option:
        last_times = f"{spec.expiry} 16:00:00 US/Eastern"
        long_name = "SPDR S&P 500 ETF TRUST"
        order_types = (
            "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,DAY,DEACT,GTC,IOC,LMT,MKT,NONALGO,OCA"
        )
        market_name, under_con_id, contract_month = spec.trading_class, UNDERLYING_CON_ID, spec.expiry[:6]
        under_symbol, under_sec_type, market_rules, real_expiry = spec.symbol, "STK", "32", spec.expiry
        industry = category = subcategory = ""
        agg_group = 2
    else:
        last_times = ""
        long_name = "SPDR S&P 500 ETF TRUST"
        order_types = "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,DAY,GTC,IOC,LMT,MKT,NONALGO,OCA"
        market_name, under_con_id, contract_month = spec.symbol, 0, ""
        under_symbol, under_sec_type, market_rules, real_expiry = "", "", "26", ""
        industry, category, subcategory = "Funds", "Equity Fund", "Growth-Large Cap"
        agg_group = 1
    valid = (
        "SMART,AMEX,BATS,BOX,CBOE,CBOE2,EDGX,EMERALD,ISE,MIAX,PHLX"
        if spec.is_option
        else "SMART,ARCA,NYSE,NASDAQ,BATS,IEX"
    )
    fields: list[object] = [Out.CONTRACT_DATA]
    if version < v.SIZE_RULES:
        fields.append(8)  # the message's own version, dropped at SIZE_RULES
    fields += [
        req_id,
        spec.symbol,
        spec.sec_type,
        last_times,
        spec.strike,
        spec.right,
        exchange,
        spec.currency,
        spec.local_symbol,
        market_name,
        spec.trading_class,
        spec.con_id,
        "0.01",
    ]
    if version < v.SIZE_RULES:
        fields.append(1)  # mdSizeMultiplier
    fields += [
        spec.multiplier,
        order_types,
        valid,
        1,
        under_con_id,
        long_name,
        spec.primary_exchange,
        contract_month,
        industry,
        category,
        subcategory,
        "US/Eastern",
        hours,
        hours,
        "",
        "",
        0,  # secIdList count
        agg_group,
        under_symbol,
        under_sec_type,
        market_rules,
        real_expiry,
        "ETF" if not spec.is_option else "",
    ]
    if version >= v.SIZE_RULES:
        fields += ["1", "1", "1"]  # minSize, sizeIncrement, suggestedSizeIncrement
    elif version >= v.FRACTIONAL_SIZE_SUPPORT:
        fields.append("1")  # sizeMinTick
    return encode(fields)


def contract_details_end(req_id: int) -> bytes:
    return encode([Out.CONTRACT_DATA_END, 1, req_id])


def sec_def_opt_params(
    req_id: int, exchange: str, trading_class: str, expirations: Sequence[str], strikes: Sequence[float]
) -> bytes:
    return encode(
        [
            Out.SECURITY_DEFINITION_OPTION_PARAMETER,
            req_id,
            exchange,
            UNDERLYING_CON_ID,
            trading_class,
            "100",
            len(expirations),
            *expirations,
            len(strikes),
            *strikes,
        ]
    )


def sec_def_opt_params_end(req_id: int) -> bytes:
    return encode([Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id])


def _combo_fields(order: OrderRecord) -> list[object]:
    legs = order.contract.combo_legs
    fields: list[object] = [""]  # comboLegsDescrip
    fields.append(len(legs))
    for leg in legs:
        fields += [
            leg.con_id,
            leg.ratio,
            leg.action,
            leg.exchange,
            leg.open_close,
            leg.short_sale_slot,
            leg.designated_location,
            leg.exempt_code,
        ]
    fields += [0, 0]  # orderComboLegs, smartComboRoutingParams
    return fields


def _fa_profile(version: int) -> list[object]:
    return [""] if version < v.FA_PROFILE_DESUPPORT else []


def _peg_best_peg_mid(version: int) -> list[object]:
    # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf
    return [""] * 5 if version >= v.PEGBEST_PEGMID_OFFSETS else []


def open_order(order: OrderRecord, *, version: int, what_if_state: Sequence[str] | None = None) -> bytes:
    state = list(what_if_state) if what_if_state is not None else [""] * 9
    fields: list[object] = [Out.OPEN_ORDER, order.order_id, *order.contract.wire_fields()]
    fields += [
        order.action,
        order.total_quantity,
        order.order_type,
        order.lmt_price if order.lmt_price is not None else "",
        order.aux_price if order.aux_price is not None else "",
        order.tif,
        order.oca_group,
        order.account,
        order.open_close,
        order.origin,
        order.order_ref,
        order.client_id,
        order.perm_id,
        order.outside_rth,
        order.hidden,
        0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # sharesAllocation (deprecated)
        "",
        "",
        "",  # faGroup, faMethod, faPercentage
        *_fa_profile(version),
        "",  # modelCode
        order.good_till_date,
        "",  # rule80A
        "",  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        "",
        "",
        "",
        "",
        "",  # startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
        order.display_size,
        False,  # blockOrder
        False,  # sweepToFill
        False,  # allOrNone
        "",  # minQty
        0,  # ocaType
        False,
        False,  # eTradeOnly, firmQuoteOnly
        "",  # nbboPriceCap
        0,  # parentId
        0,  # triggerMethod
        "",  # volatility
        "",  # volatilityType
        "",  # deltaNeutralOrderType
        "",  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        "",  # referencePriceType
        "",
        "",  # trailStopPrice, trailingPercent
        "",
        "",  # basisPoints, basisPointsType
        *_combo_fields(order),
        "",
        "",
        "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        False,  # optOutSmartRouting
        "",
        "",  # clearingAccount, clearingIntent
        False,  # notHeld
        0,  # deltaNeutralContract present
        "",  # algoStrategy
        False,  # solicited
        what_if_state is not None,  # whatIf
        order.status,
        *state,  # initMarginBefore .. equityWithLoanAfter
        "",
        "",
        "",  # commission, minCommission, maxCommission
        "USD",
        "",  # warningText
        False,
        False,  # randomizeSize, randomizePrice
        0,  # conditions
        "",  # adjustedOrderType
        "",  # triggerPrice
        "",  # trailStopPrice
        "",  # lmtPriceOffset
        "",
        "",
        "",  # adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",
        "",
        "",  # softDollarTier name, value, displayName
        "",  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        False,  # discretionaryUpToLimitPrice
        False,  # usePriceMgmtAlgo
    ]
    if version >= v.DURATION:
        fields.append("")  # duration
    if version >= v.POST_TO_ATS:
        fields.append("")  # postToAts
    if version >= v.AUTO_CANCEL_PARENT:
        fields.append(False)  # autoCancelParent
    fields += _peg_best_peg_mid(version)
    return encode(fields)


def order_status(order: OrderRecord) -> bytes:
    return encode(
        [
            Out.ORDER_STATUS,
            order.order_id,
            order.status,
            order.filled,
            order.remaining,
            order.avg_fill_price,
            order.perm_id,
            0,  # parentId
            order.last_fill_price,
            order.client_id,
            "",  # whyHeld
            0,  # mktCapPrice
        ]
    )


def open_order_end() -> bytes:
    return encode([Out.OPEN_ORDER_END, 1])


def completed_order(order: OrderRecord, *, version: int) -> bytes:
    completed = order.completed_at
    fields: list[object] = [Out.COMPLETED_ORDER, *order.contract.wire_fields()]
    fields += [
        order.action,
        order.total_quantity,
        order.order_type,
        order.lmt_price if order.lmt_price is not None else "",
        order.aux_price if order.aux_price is not None else "",
        order.tif,
        order.oca_group,
        order.account,
        order.open_close,
        order.origin,
        order.order_ref,
        order.perm_id,
        order.outside_rth,
        order.hidden,
        0,  # discretionaryAmt
        "",  # goodAfterTime
        "",
        "",
        "",  # faGroup, faMethod, faPercentage
        *_fa_profile(version),
        "",  # modelCode
        order.good_till_date,
        "",  # rule80A
        "",  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        "",
        "",
        "",
        "",
        "",  # startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
        order.display_size,
        False,  # sweepToFill
        False,  # allOrNone
        "",  # minQty
        0,  # ocaType
        0,  # triggerMethod
        "",  # volatility
        "",  # volatilityType
        "",  # deltaNeutralOrderType
        "",  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        "",  # referencePriceType
        "",
        "",  # trailStopPrice, trailingPercent
        *_combo_fields(order),
        "",
        "",
        "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        "",
        "",  # clearingAccount, clearingIntent
        False,  # notHeld
        0,  # deltaNeutralContract present
        "",  # algoStrategy
        False,  # solicited
        order.status,
        False,
        False,  # randomizeSize, randomizePrice
        0,  # conditions
        "",  # trailStopPrice
        "",  # lmtPriceOffset
        "",  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        "",  # autoCancelDate
        order.filled,
        0,  # refFuturesConId
        False,  # autoCancelParent
        "",  # shareholder
        False,  # imbalanceOnly
        False,  # routeMarketableToBbo
        0,  # parentPermId
        ib_time(completed) if completed else "",
        order.completed_status,
        *_peg_best_peg_mid(version),
    ]
    return encode(fields)


def completed_orders_end() -> bytes:
    return encode([Out.COMPLETED_ORDERS_END])


def exec_details(req_id: int, execution: ExecutionRecord, *, version: int) -> bytes:
    order = execution.order
    fields: list[object] = [
        Out.EXECUTION_DATA,
        req_id,
        order.order_id,
        *execution.contract_fields,
        execution.exec_id,
        ib_time(execution.time),
        order.account,
        execution.exchange,
        execution.side,
        execution.shares,
        execution.price,
        order.perm_id,
        order.client_id,
        0,  # liquidation
        execution.cum_qty,
        execution.avg_price,
        order.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        2,  # lastLiquidity: removed liquidity (a marketable order takes the quote)
    ]
    if version >= v.PENDING_PRICE_REVISION:
        fields.append(False)  # pendingPriceRevision
    return encode(fields)


def exec_details_end(req_id: int) -> bytes:
    return encode([Out.EXECUTION_DATA_END, 1, req_id])


def commission_report(execution: ExecutionRecord) -> bytes:
    realized = UNSET_DOUBLE_TEXT if execution.realized_pnl is None else f"{execution.realized_pnl:.2f}"
    return encode(
        [Out.COMMISSION_REPORT, 1, execution.exec_id, f"{execution.commission:.2f}", "USD", realized, "", ""]
    )


def position(account: str, spec: ContractSpec, quantity: int, avg_cost: float) -> bytes:
    return encode([Out.POSITION_DATA, 3, account, *spec.wire_fields(), quantity, round(avg_cost, 6)])


def position_end() -> bytes:
    return encode([Out.POSITION_END, 1])


def portfolio_value(
    spec: ContractSpec,
    quantity: int,
    market_price: float,
    market_value: float,
    avg_cost: float,
    unrealized: float,
    realized: float,
    account: str,
) -> bytes:
    return encode(
        [
            Out.PORTFOLIO_VALUE,
            8,
            spec.con_id,
            spec.symbol,
            spec.sec_type,
            spec.expiry,
            spec.strike,
            spec.right,
            spec.multiplier,
            spec.primary_exchange,
            spec.currency,
            spec.local_symbol,
            spec.trading_class,
            quantity,
            round(market_price, 6),
            round(market_value, 2),
            round(avg_cost, 6),
            round(unrealized, 2),
            round(realized, 2),
            account,
        ]
    )


def account_value(key: str, value: str, currency: str, account: str) -> bytes:
    return encode([Out.ACCT_VALUE, 2, key, value, currency, account])


def account_time(moment: dt.datetime) -> bytes:
    return encode([Out.ACCT_UPDATE_TIME, 1, f"{moment.astimezone(EASTERN):%H:%M}"])


def account_download_end(account: str) -> bytes:
    return encode([Out.ACCT_DOWNLOAD_END, 1, account])


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> bytes:
    return encode([Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency])


def account_summary_end(req_id: int) -> bytes:
    return encode([Out.ACCOUNT_SUMMARY_END, 1, req_id])


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> bytes:
    return encode([Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency])


def account_update_multi_end(req_id: int) -> bytes:
    return encode([Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id])


def position_multi(req_id: int, account: str, spec: ContractSpec, quantity: int, avg_cost: float) -> bytes:
    return encode(
        [Out.POSITION_MULTI, 1, req_id, account, *spec.wire_fields(), quantity, round(avg_cost, 6), ""]
    )


def position_multi_end(req_id: int) -> bytes:
    return encode([Out.POSITION_MULTI_END, 1, req_id])


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> bytes:
    return encode([Out.PNL, req_id, round(daily, 2), round(unrealized, 2), round(realized, 2)])


def pnl_single(
    req_id: int, quantity: int, daily: float, unrealized: float, realized: float, value: float
) -> bytes:
    return encode(
        [
            Out.PNL_SINGLE,
            req_id,
            quantity,
            round(daily, 2),
            round(unrealized, 2),
            round(realized, 2),
            round(value, 2),
        ]
    )


def market_data_type(req_id: int, data_type: int) -> bytes:
    return encode([Out.MARKET_DATA_TYPE, 1, req_id, data_type])


def tick_req_params(req_id: int) -> bytes:
    return encode([Out.TICK_REQ_PARAMS, req_id, "0.01", "9c0001", 3])


def tick_snapshot_end(req_id: int) -> bytes:
    return encode([Out.TICK_SNAPSHOT_END, 1, req_id])
