"""TWS API constants the simulator speaks: message ids, codes and texts.

Server versions, and what changes between them, are in ``spyops.gatewaysim.versions``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

HANDSHAKE_PREFIX: Final = b"API\0"


class In(IntEnum):
    """Message ids a client sends."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCT_DATA = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DATA = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_CURRENT_TIME = 49
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_POSITIONS_MULTI = 74
    CANCEL_POSITIONS_MULTI = 75
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_SEC_DEF_OPT_PARAMS = 78
    REQ_PNL = 92
    CANCEL_PNL = 93
    REQ_PNL_SINGLE = 94
    CANCEL_PNL_SINGLE = 95
    REQ_COMPLETED_ORDERS = 99


class Out(IntEnum):
    """Message ids the gateway sends."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    TICK_STRING = 46
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    POSITION_MULTI = 71
    POSITION_MULTI_END = 72
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    SECURITY_DEFINITION_OPTION_PARAMETER = 75
    SECURITY_DEFINITION_OPTION_PARAMETER_END = 76
    TICK_REQ_PARAMS = 81
    PNL = 94
    PNL_SINGLE = 95
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102


class Code(IntEnum):
    """IB error and notice codes the simulator emits, with IB's texts in ``TEXTS``."""

    PACING = 100
    MAX_TICKERS = 101
    DUPLICATE_TICKER_ID = 102
    DUPLICATE_ORDER_ID = 103
    CANT_MODIFY_FILLED = 104
    ORDER_MODIFY_MISMATCH = 105
    CANT_FIND_ORDER = 135
    CANCEL_NOT_CANCELLABLE = 161
    NO_SECURITY_DEFINITION = 200
    ORDER_REJECTED = 201
    ORDER_CANCELLED = 202
    CANT_FIND_EID = 300
    BAD_MESSAGE_LENGTH = 320
    VALIDATION_ERROR = 321
    PROCESSING_ERROR = 322
    CLIENT_ID_IN_USE = 326
    CONNECTIVITY_LOST = 1100
    CONNECTIVITY_RESTORED_DATA_LOST = 1101
    CONNECTIVITY_RESTORED_DATA_KEPT = 1102
    MARKET_DATA_FARM_OK = 2104
    HMDS_FARM_OK = 2106
    SEC_DEF_FARM_OK = 2158


TEXTS: Final[dict[Code, str]] = {
    Code.PACING: "Max rate of messages per second has been exceeded:max=50 rec={received} (1)",
    Code.MAX_TICKERS: "Max number of tickers has been reached",
    Code.DUPLICATE_TICKER_ID: "Duplicate ticker ID.",
    Code.DUPLICATE_ORDER_ID: "Duplicate order id",
    Code.CANT_MODIFY_FILLED: "Can't modify a filled order.",
    Code.ORDER_MODIFY_MISMATCH: "Order being modified does not match original order.",
    Code.CANT_FIND_ORDER: "Can't find order with id ={order_id}",
    Code.CANCEL_NOT_CANCELLABLE: (
        "Cancel attempted when order is not in a cancellable state.  Order permId ={perm_id}"
    ),
    Code.NO_SECURITY_DEFINITION: "No security definition has been found for the request",
    Code.ORDER_REJECTED: "Order rejected - reason:{reason}",
    Code.ORDER_CANCELLED: "Order Canceled - reason:{reason}",
    Code.CANT_FIND_EID: "Can't find EId with tickerId:{ticker_id}",
    Code.BAD_MESSAGE_LENGTH: "Error reading request:-'{detail}'",
    Code.VALIDATION_ERROR: "Error validating request:-'{detail}'",
    Code.PROCESSING_ERROR: "Error processing request:-'{detail}'",
    Code.CLIENT_ID_IN_USE: (
        "Unable to connect as the client id is already in use.  Retry with a unique client id."
    ),
    Code.CONNECTIVITY_LOST: "Connectivity between IB and Trader Workstation has been lost.",
    Code.CONNECTIVITY_RESTORED_DATA_LOST: (
        "Connectivity between IB and Trader Workstation has been restored - data lost."
    ),
    Code.CONNECTIVITY_RESTORED_DATA_KEPT: (
        "Connectivity between IB and Trader Workstation has been restored - data maintained. "
        "All data farms are connected: usfarm; ushmds; secdefnj."
    ),
    Code.MARKET_DATA_FARM_OK: "Market data farm connection is OK:usfarm",
    Code.HMDS_FARM_OK: "HMDS data farm connection is OK:ushmds",
    Code.SEC_DEF_FARM_OK: "Sec-def data farm connection is OK:secdefnj",
}


def error_text(code: Code, **values: object) -> str:
    return TEXTS[code].format(**values)


# Market data types (reqMarketDataType): 1 live, 2 frozen, 3 delayed, 4 delayed-frozen.
MARKET_DATA_LIVE: Final = 1
MARKET_DATA_FROZEN: Final = 2
MARKET_DATA_DELAYED: Final = 3
MARKET_DATA_DELAYED_FROZEN: Final = 4

# IB's "unset" double, as TWS writes it for realizedPNL of opening executions.
UNSET_DOUBLE_TEXT: Final = "1.7976931348623157E308"

NO_REQUEST_ID: Final = -1
