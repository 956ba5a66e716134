"""One chain snapshot as numpy arrays: the form the detector scans and the CSV files store.

``ChainSnapshot`` (pydantic, in ``spyops.schemas``) is the wire form; building one
object per contract costs microseconds each, so the market model, the CSV reader and
the detector pass snapshots around as ``ChainArrays`` and convert at the edges.
Rows are sorted by strike, calls before puts at the same strike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spyops.schemas import ChainSnapshot, OptionQuote, OptionRight

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_epoch_ns(ts: dt.datetime) -> int:
    """Nanoseconds since the Unix epoch for a timezone-aware datetime (exact, no float)."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no timezone offset")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_epoch_ns(ns: int, tz: dt.tzinfo) -> dt.datetime:
    """The inverse of ``to_epoch_ns`` (microsecond resolution), in the given timezone."""
    return (_EPOCH + dt.timedelta(microseconds=ns // 1_000)).astimezone(tz)


@dataclass(frozen=True, slots=True, eq=False)
class ChainArrays:
    """One expiry's chain at one instant. All arrays have one entry per contract."""

    ts: dt.datetime
    underlying: str
    expiry: dt.date
    spot_bid: float
    spot_ask: float
    strike: NDArray[np.float64]
    is_call: NDArray[np.bool_]
    bid: NDArray[np.float64]
    ask: NDArray[np.float64]
    bid_size: NDArray[np.int64]
    ask_size: NDArray[np.int64]
    quote_ts_ns: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    @property
    def ts_ns(self) -> int:
        return to_epoch_ns(self.ts)

    def right(self, index: int) -> OptionRight:
        return OptionRight.CALL if bool(self.is_call[index]) else OptionRight.PUT

    def to_snapshot(self) -> ChainSnapshot:
        """The pydantic wire form (one OptionQuote per contract; not for hot paths)."""
        tz = self.ts.tzinfo
        assert tz is not None
        quotes = tuple(
            OptionQuote(
                strike=float(self.strike[i]),
                right=self.right(i),
                bid=float(self.bid[i]),
                ask=float(self.ask[i]),
                bid_size=int(self.bid_size[i]),
                ask_size=int(self.ask_size[i]),
                quote_ts=from_epoch_ns(int(self.quote_ts_ns[i]), tz),
            )
            for i in range(len(self))
        )
        return ChainSnapshot(
            ts=self.ts,
            underlying=self.underlying,
            spot_bid=self.spot_bid,
            spot_ask=self.spot_ask,
            expiry=self.expiry,
            quotes=quotes,
        )

    @classmethod
    def from_snapshot(cls, snapshot: ChainSnapshot) -> ChainArrays:
        """Arrays from the wire form, sorted by strike with calls first."""
        quotes = sorted(snapshot.quotes, key=lambda q: (q.strike, q.right != OptionRight.CALL))
        return cls(
            ts=snapshot.ts,
            underlying=snapshot.underlying,
            expiry=snapshot.expiry,
            spot_bid=snapshot.spot_bid,
            spot_ask=snapshot.spot_ask,
            strike=np.array([q.strike for q in quotes], dtype=np.float64),
            is_call=np.array([q.right == OptionRight.CALL for q in quotes], dtype=np.bool_),
            bid=np.array([q.bid for q in quotes], dtype=np.float64),
            ask=np.array([q.ask for q in quotes], dtype=np.float64),
            bid_size=np.array([q.bid_size for q in quotes], dtype=np.int64),
            ask_size=np.array([q.ask_size for q in quotes], dtype=np.int64),
            quote_ts_ns=np.array([to_epoch_ns(q.quote_ts) for q in quotes], dtype=np.int64),
        )
