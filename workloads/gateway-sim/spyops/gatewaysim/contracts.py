"""The contracts the simulated gateway knows: the underlying and its 0DTE options.

Contract ids are deterministic (a function of expiry, strike and right), local symbols
are OCC style (``SPY   261120C00590000``), trading class SPY, multiplier 100, SMART.
Lookups implement the matching rules of ``reqContractDetails``: every field the request
sets must match; ``conId`` alone identifies a contract.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

UNDERLYING_CON_ID: Final = 756733  # SPY's real IB conId
OPTION_MULTIPLIER: Final = 100
OPTION_EXCHANGES: Final = (
    "SMART",
    "AMEX",
    "BATS",
    "BOX",
    "CBOE",
    "CBOE2",
    "EDGX",
    "EMERALD",
    "ISE",
    "MIAX",
    "PHLX",
)
STOCK_EXCHANGES: Final = ("SMART", "ARCA", "NYSE", "NASDAQ", "BATS", "IEX")
_CON_ID_BASE: Final = 1_000_000_000
_EPOCH: Final = dt.date(2020, 1, 1)


def option_con_id(expiry: dt.date, strike: float, right: str) -> int:
    """Deterministic, unique within int32 for expiries 2020..2047 and strikes below 5000."""
    day = (expiry - _EPOCH).days
    tenths = round(strike * 10)
    if not (0 <= day < 10_000 and 0 < tenths < 50_000):
        raise ValueError(f"cannot assign a contract id to {expiry} {strike} {right}")
    return _CON_ID_BASE + (day * 50_000 + tenths) * 2 + (0 if right == "C" else 1)


def occ_symbol(root: str, expiry: dt.date, strike: float, right: str) -> str:
    return f"{root:<6}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"


@dataclass(frozen=True, slots=True)
class ContractSpec:
    con_id: int
    symbol: str
    sec_type: str  # STK or OPT
    expiry: str  # YYYYMMDD for options, "" for the stock
    strike: float
    right: str  # C, P or ""
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str

    @property
    def is_option(self) -> bool:
        return self.sec_type == "OPT"

    @property
    def multiplier_value(self) -> int:
        return int(self.multiplier) if self.multiplier else 1

    def wire_fields(self, *, exchange: str | None = None) -> list[object]:
        """conId..tradingClass as used in openOrder/position/execDetails (no primaryExchange)."""
        return [
            self.con_id,
            self.symbol,
            self.sec_type,
            self.expiry,
            self.strike,
            self.right,
            self.multiplier,
            exchange if exchange is not None else self.exchange,
            self.currency,
            self.local_symbol,
            self.trading_class,
        ]


@dataclass(frozen=True, slots=True)
class ContractQuery:
    """The contract fields of a request, as the client sent them."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    expiry: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


def _normalise_right(right: str) -> str:
    upper = right.upper()
    return {"CALL": "C", "PUT": "P"}.get(upper, upper)


class ContractCatalog:
    def __init__(self, underlying: str, expiry: dt.date, strikes: Iterable[float]) -> None:
        self.underlying = underlying
        self.expiry = expiry
        self.strikes: tuple[float, ...] = tuple(sorted({float(s) for s in strikes}))
        self.stock = ContractSpec(
            con_id=UNDERLYING_CON_ID,
            symbol=underlying,
            sec_type="STK",
            expiry="",
            strike=0.0,
            right="",
            multiplier="",
            exchange="SMART",
            primary_exchange="ARCA",
            currency="USD",
            local_symbol=underlying,
            trading_class=underlying,
        )
        self._by_con_id: dict[int, ContractSpec] = {self.stock.con_id: self.stock}
        self._by_option: dict[tuple[float, str], ContractSpec] = {}
        expiry_text = f"{expiry:%Y%m%d}"
        for strike in self.strikes:
            for right in ("C", "P"):
                spec = ContractSpec(
                    con_id=option_con_id(expiry, strike, right),
                    symbol=underlying,
                    sec_type="OPT",
                    expiry=expiry_text,
                    strike=strike,
                    right=right,
                    multiplier=str(OPTION_MULTIPLIER),
                    exchange="SMART",
                    primary_exchange="",
                    currency="USD",
                    local_symbol=occ_symbol(underlying, expiry, strike, right),
                    trading_class=underlying,
                )
                self._by_con_id[spec.con_id] = spec
                self._by_option[(strike, right)] = spec

    def __len__(self) -> int:
        return len(self._by_con_id)

    def by_con_id(self, con_id: int) -> ContractSpec | None:
        return self._by_con_id.get(con_id)

    def option(self, strike: float, right: str) -> ContractSpec | None:
        return self._by_option.get((float(strike), right))

    def options(self) -> Sequence[ContractSpec]:
        return list(self._by_option.values())

    def find(self, query: ContractQuery) -> list[ContractSpec]:
        """All contracts matching every field the query sets (reqContractDetails semantics)."""
        if query.con_id > 0:
            spec = self._by_con_id.get(query.con_id)
            if spec is None or not self._matches(spec, query, ignore_identity=True):
                return []
            return [spec]
        return [
            spec for spec in self._by_con_id.values() if self._matches(spec, query, ignore_identity=False)
        ]

    def resolve(self, query: ContractQuery) -> ContractSpec | None:
        """Exactly one contract for an order or market-data request, or None."""
        found = self.find(query)
        return found[0] if len(found) == 1 else None

    def _matches(self, spec: ContractSpec, q: ContractQuery, *, ignore_identity: bool) -> bool:
        if not ignore_identity and not q.symbol and not q.local_symbol:
            return False
        if q.symbol and q.symbol.upper() != spec.symbol:
            return False
        if q.sec_type and q.sec_type.upper() != spec.sec_type:
            return False
        if q.expiry:
            expiry = q.expiry.strip().split(" ")[0]
            if spec.sec_type != "OPT" or not (
                expiry == spec.expiry or (len(expiry) == 6 and spec.expiry.startswith(expiry))
            ):
                return False
        if q.strike and abs(q.strike - spec.strike) > 1e-6:
            return False
        if q.right and q.right != "?" and _normalise_right(q.right) != spec.right:
            return False
        if q.multiplier and spec.multiplier and q.multiplier != spec.multiplier:
            return False
        if q.multiplier and not spec.multiplier:
            return False
        valid_exchanges = OPTION_EXCHANGES if spec.is_option else STOCK_EXCHANGES
        if q.exchange and q.exchange.upper() not in valid_exchanges:
            return False
        if (
            q.primary_exchange
            and spec.primary_exchange
            and q.primary_exchange.upper() != spec.primary_exchange
        ):
            return False
        if q.currency and q.currency.upper() != spec.currency:
            return False
        if q.local_symbol and " ".join(q.local_symbol.split()) != " ".join(spec.local_symbol.split()):
            return False
        return not (q.trading_class and q.trading_class.upper() != spec.trading_class)
