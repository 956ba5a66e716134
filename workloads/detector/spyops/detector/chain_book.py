"""The latest quote of every watched contract, and the snapshots the detector scans.

Pure: the market-data feed writes quotes in (already in dollars, with its clock), the
service reads ``ChainArrays`` out. Quotes live in preallocated numpy arrays laid out as
the detector wants them (sorted by strike, a call and a put per strike, calls first), so
taking a snapshot is a handful of array copies, not one object per contract.

IB's "nothing there" values (NaN, -1, a price or size of 0) all become "no bid" / "no
ask": price 0 and size 0 on that side, which is how the detector's rules read them.
Each contract's ``quote_ts`` is the time its quote last *changed*: a quote repeated
unchanged keeps its old time, so the stale-quote rule sees its real age.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from spyops.detector.subscription_plan import OptionKey
from spyops.market.chain import ChainArrays, to_epoch_ns
from spyops.schemas import ChainSnapshot

NEVER = -1  # quote_ts_ns of a contract with no quote yet


def clean_side(price: float | None, size: float | None) -> tuple[float, int]:
    """One side of a quote as (price, size), or (0.0, 0) when the side is not there.

    IB sends -1 (or NaN before the first tick) for "no price" and 0 or -1 for "no size";
    a side without both a positive price and a positive size is no side at all.
    """
    if price is None or size is None:
        return 0.0, 0
    try:
        p, s = float(price), float(size)
    except (TypeError, ValueError):
        return 0.0, 0
    if not (math.isfinite(p) and math.isfinite(s)) or p <= 0.0 or s < 1.0:
        return 0.0, 0
    return p, int(s)


class ChainBook:
    """Quotes of one underlying and one expiry (not thread-safe; one event loop)."""

    def __init__(self, underlying: str, expiry: dt.date) -> None:
        self.underlying = underlying
        self.expiry = expiry
        self._rows: dict[OptionKey, int] = {}
        self.strikes: tuple[float, ...] = ()
        self._bid = np.zeros(0)
        self._ask = np.zeros(0)
        self._bid_size = np.zeros(0, dtype=np.int64)
        self._ask_size = np.zeros(0, dtype=np.int64)
        self._quote_ts = np.zeros(0, dtype=np.int64)
        self._strike_col = np.zeros(0)
        self._is_call = np.zeros(0, dtype=np.bool_)
        self.spot_bid = 0.0
        self.spot_ask = 0.0
        self.spot_ts_ns = NEVER
        self.version = 0  # bumped on every change; the service scans when it moved

    # -- layout ---------------------------------------------------------------------------

    def set_strikes(self, strikes: Sequence[float]) -> None:
        """Watch exactly these strikes (calls and puts); quotes of strikes kept are kept."""
        ordered = tuple(sorted(set(float(k) for k in strikes)))
        if ordered == self.strikes:
            return
        n = 2 * len(ordered)
        bid, ask = np.zeros(n), np.zeros(n)
        bid_size, ask_size = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        quote_ts = np.full(n, NEVER, dtype=np.int64)
        rows: dict[OptionKey, int] = {}
        for i, strike in enumerate(ordered):
            for offset, is_call in ((0, True), (1, False)):
                key = OptionKey(strike, is_call)
                row = 2 * i + offset
                rows[key] = row
                old = self._rows.get(key)
                if old is not None:
                    bid[row], ask[row] = self._bid[old], self._ask[old]
                    bid_size[row], ask_size[row] = self._bid_size[old], self._ask_size[old]
                    quote_ts[row] = self._quote_ts[old]
        self._rows = rows
        self.strikes = ordered
        self._bid, self._ask, self._bid_size, self._ask_size = bid, ask, bid_size, ask_size
        self._quote_ts = quote_ts
        self._strike_col = np.repeat(np.array(ordered, dtype=np.float64), 2)
        self._is_call = np.tile(np.array([True, False]), len(ordered))
        self.version += 1

    def forget_quotes(self) -> None:
        """Drop every quote (after a reconnect or data loss nothing old can be trusted)."""
        self._bid[:] = 0.0
        self._ask[:] = 0.0
        self._bid_size[:] = 0
        self._ask_size[:] = 0
        self._quote_ts[:] = NEVER
        self.spot_bid = self.spot_ask = 0.0
        self.spot_ts_ns = NEVER
        self.version += 1

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def has_quote(self, key: OptionKey) -> bool:
        """Whether this watched contract has had at least one quote."""
        row = self._rows.get(key)
        return row is not None and bool(self._quote_ts[row] != NEVER)

    @property
    def contracts(self) -> int:
        return len(self._rows)

    @property
    def quoted(self) -> int:
        """Contracts that have had at least one quote."""
        return int(np.count_nonzero(self._quote_ts != NEVER))

    # -- updates --------------------------------------------------------------------------

    def update_option(
        self,
        key: OptionKey,
        bid: float | None,
        ask: float | None,
        bid_size: float | None,
        ask_size: float | None,
        ts_ns: int,
    ) -> bool:
        """Record a quote; True when it changed (a contract not watched is ignored: False)."""
        row = self._rows.get(key)
        if row is None:
            return False
        b, bs = clean_side(bid, bid_size)
        a, as_ = clean_side(ask, ask_size)
        if (
            self._quote_ts[row] != NEVER
            and b == self._bid[row]
            and a == self._ask[row]
            and bs == self._bid_size[row]
            and as_ == self._ask_size[row]
        ):
            return False
        self._bid[row], self._ask[row] = b, a
        self._bid_size[row], self._ask_size[row] = bs, as_
        self._quote_ts[row] = ts_ns
        self.version += 1
        return True

    def update_underlying(
        self,
        bid: float | None,
        ask: float | None,
        bid_size: float | None,
        ask_size: float | None,
        ts_ns: int,
    ) -> bool:
        b, _ = clean_side(bid, bid_size)
        a, _ = clean_side(ask, ask_size)
        if b == self.spot_bid and a == self.spot_ask and self.spot_ts_ns != NEVER:
            return False
        self.spot_bid, self.spot_ask = b, a
        self.spot_ts_ns = ts_ns
        self.version += 1
        return True

    @property
    def spot(self) -> float | None:
        """Mid of the underlying's quote (one side if only one is there); None without a quote."""
        if self.spot_bid > 0 and self.spot_ask > 0:
            return 0.5 * (self.spot_bid + self.spot_ask)
        if self.spot_bid > 0 or self.spot_ask > 0:
            return max(self.spot_bid, self.spot_ask)
        return None

    # -- snapshots ------------------------------------------------------------------------

    def arrays(self, ts: dt.datetime) -> ChainArrays | None:
        """The chain at ``ts`` for the detector, or None while the underlying has no quote."""
        spot = self.spot
        if spot is None or not self._rows:
            return None
        ts_ns = to_epoch_ns(ts)
        spot_bid = self.spot_bid if self.spot_bid > 0 else spot
        spot_ask = self.spot_ask if self.spot_ask > 0 else spot
        return ChainArrays(
            ts=ts,
            underlying=self.underlying,
            expiry=self.expiry,
            spot_bid=spot_bid,
            spot_ask=spot_ask,
            strike=self._strike_col,  # never written in place (set_strikes replaces it)
            is_call=self._is_call,
            bid=self._bid.copy(),
            ask=self._ask.copy(),
            bid_size=self._bid_size.copy(),
            ask_size=self._ask_size.copy(),
            quote_ts_ns=np.where(self._quote_ts == NEVER, ts_ns, self._quote_ts),
        )

    def snapshot(self, ts: dt.datetime) -> ChainSnapshot | None:
        """The wire form for the backend (not for hot paths)."""
        chain = self.arrays(ts)
        return chain.to_snapshot() if chain is not None else None
