"""Market data inside the gateway: the quote source, the simulated clock, top of book.

The gateway reads quotes through ``QuoteSource``, the narrow part of
``spyops.market.MarketModel`` it needs. ``MarketState`` keeps the current top of book per
contract, the displayed size orders have already taken, the last trade and volume, and
what was last published to clients, so each publish cycle sends only changes.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from spyops.gatewaysim.contracts import ContractCatalog
from spyops.gatewaysim.matching import TopOfBook
from spyops.market import ChainArrays
from spyops.schemas import AnomalyKind, OptionRight

# The underlying's displayed size on each side, in shares: the chain snapshot carries
# the spot's prices but not its sizes.
UNDERLYING_DISPLAYED_SIZE: Final = 500
_LEN = struct.Struct(">I")


class QuoteSource(Protocol):
    """What the gateway needs from the market model (``spyops.market.MarketModel``)."""

    @property
    def now(self) -> dt.datetime: ...

    @property
    def arrays(self) -> ChainArrays: ...

    @property
    def strikes(self) -> Sequence[float]: ...

    @property
    def expiry(self) -> dt.date: ...

    @property
    def underlying(self) -> str: ...

    def step(self, seconds: float = 0.1) -> ChainArrays: ...

    def inject(
        self,
        kind: AnomalyKind,
        *,
        strike: float | None = None,
        right: OptionRight | None = None,
        size: float | None = None,
        duration_seconds: float | None = None,
    ) -> Any: ...


class SessionClock:
    """Maps wall-clock (monotonic) time to session time, with a speed factor."""

    def __init__(self, start: dt.datetime, speed: float, wall_start: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if start.tzinfo is None:
            raise ValueError("session start must be timezone-aware")
        self.start = start
        self.speed = speed
        self.wall_start = wall_start

    def at(self, wall: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(wall - self.wall_start) * self.speed)


@dataclass(slots=True)
class Published:
    """The tick values a contract's subscribers have been sent."""

    bid: float = -1.0
    ask: float = -1.0
    bid_size: int = 0
    ask_size: int = 0
    last: float = -1.0
    last_size: int = 0
    volume: int = 0
    last_time: dt.datetime | None = None


@dataclass(slots=True)
class LastTrade:
    price: float = 0.0
    size: int = 0
    volume: int = 0
    time: dt.datetime | None = None


def _price_text(value: float) -> bytes:
    return f"{value:.2f}".encode()


class MarketState:
    def __init__(self, catalog: ContractCatalog) -> None:
        self.catalog = catalog
        self.books: dict[int, TopOfBook] = {}
        self.taken: dict[tuple[int, str], int] = {}
        self.last: dict[int, LastTrade] = {}
        self.published: dict[int, Published] = {}
        self._option_ids: dict[tuple[float, str], int] = {
            (spec.strike, spec.right): spec.con_id for spec in catalog.options()
        }
        self._row_ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._row_strikes: np.ndarray | None = None
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _align(self, arrays: ChainArrays) -> None:
        """Contract id of every row of the model's arrays (rows keep their order)."""
        ids = np.zeros(len(arrays), dtype=np.int64)
        for index in range(len(arrays)):
            key = (float(arrays.strike[index]), "C" if bool(arrays.is_call[index]) else "P")
            ids[index] = self._option_ids.get(key, 0)
        self._row_ids = ids
        self._row_strikes = arrays.strike.copy()
        self._previous = None

    def apply(self, arrays: ChainArrays) -> list[int]:
        """Take a new snapshot as the top of book; returns the contracts whose quote changed."""
        changed: list[int] = []
        books = self.books
        taken = self.taken
        stock_id = self.catalog.stock.con_id
        stock = TopOfBook(
            arrays.spot_bid, arrays.spot_ask, UNDERLYING_DISPLAYED_SIZE, UNDERLYING_DISPLAYED_SIZE
        )
        if books.get(stock_id) != stock:
            books[stock_id] = stock
            changed.append(stock_id)
            last = self.last.setdefault(stock_id, LastTrade())
            # The underlying trades all the time; its last is the mid of its quote.
            last.price = round((arrays.spot_bid + arrays.spot_ask) / 2, 2)
            last.size = 100
            last.volume += 100
            last.time = arrays.ts
        if (
            self._row_strikes is None
            or len(self._row_strikes) != len(arrays)
            or not np.array_equal(self._row_strikes, arrays.strike)
        ):
            self._align(arrays)
        current = (arrays.bid, arrays.ask, arrays.bid_size, arrays.ask_size)
        previous = self._previous
        if previous is None:
            rows = np.arange(len(arrays))
        else:
            mask = (current[0] != previous[0]) | (current[1] != previous[1])
            mask |= (current[2] != previous[2]) | (current[3] != previous[3])
            rows = np.flatnonzero(mask)
        self._previous = (current[0].copy(), current[1].copy(), current[2].copy(), current[3].copy())
        if len(rows):
            ids = self._row_ids[rows].tolist()
            bids = current[0][rows].tolist()
            asks = current[1][rows].tolist()
            bid_sizes = current[2][rows].tolist()
            ask_sizes = current[3][rows].tolist()
            for con_id, bid, ask, bid_size, ask_size in zip(
                ids, bids, asks, bid_sizes, ask_sizes, strict=True
            ):
                if con_id:
                    books[con_id] = TopOfBook(round(bid, 2), round(ask, 2), bid_size, ask_size)
                    changed.append(con_id)
        for con_id in changed:
            taken.pop((con_id, "BID"), None)
            taken.pop((con_id, "ASK"), None)
        return changed

    def take(self, con_id: int, side: str, quantity: int) -> None:
        """Displayed liquidity consumed by a fill: BUY takes the ask, SELL the bid."""
        key = (con_id, "ASK" if side == "BUY" else "BID")
        self.taken[key] = self.taken.get(key, 0) + quantity

    def record_trade(self, con_id: int, price: float, size: int, when: dt.datetime) -> None:
        last = self.last.setdefault(con_id, LastTrade())
        last.price = price
        last.size = size
        last.volume += size
        last.time = when

    def mark(self, con_id: int) -> float | None:
        """Mid price, the mark used for portfolio values and P&L."""
        book = self.books.get(con_id)
        if book is None:
            return None
        if book.bid > 0 and book.ask > 0:
            return round((book.bid + book.ask) / 2, 4)
        return book.bid if book.bid > 0 else (book.ask if book.ask > 0 else None)

    def marks(self) -> dict[int, float]:
        result: dict[int, float] = {}
        for con_id in self.books:
            value = self.mark(con_id)
            if value is not None:
                result[con_id] = value
        return result

    def _current(self, con_id: int) -> Published | None:
        book = self.books.get(con_id)
        if book is None:
            return None
        values = Published(book.bid, book.ask, book.bid_size, book.ask_size)
        last = self.last.get(con_id)
        if last is not None and last.size > 0:
            values.last, values.last_size, values.volume, values.last_time = (
                last.price,
                last.size,
                last.volume,
                last.time,
            )
        return values

    def full_payloads(self, con_id: int) -> list[tuple[bytes, bytes]]:
        """Everything a new subscriber needs: the state all subscribers have been sent.

        Every subscriber of a contract has always been sent exactly ``published``, so a
        new one starts from it and the next publish cycle's changes apply to all alike.
        """
        published = self.published.get(con_id)
        if published is None:
            current = self._current(con_id)
            if current is None:
                return []
            self.published[con_id] = published = current
        return _encode_changes(Published(), published)

    def diff_payloads(self, con_id: int) -> list[tuple[bytes, bytes]]:
        """Changes since the last publish cycle; they become the published state."""
        current = self._current(con_id)
        if current is None:
            return []
        published = self.published.get(con_id)
        if published is None:
            self.published[con_id] = current
            return _encode_changes(Published(), current)
        out = _encode_changes(published, current)
        self.published[con_id] = current
        return out


_PRICE_HEAD: Final = b"1\x006\x00"
_SIZE_HEAD: Final = b"2\x006\x00"
_STRING_HEAD: Final = b"46\x006\x00"


def _encode_changes(old: Published, new: Published) -> list[tuple[bytes, bytes]]:
    """Tick messages that turn a subscriber's ``old`` view into ``new``, as (head, tail).

    A message is ``head + reqId + tail``; the caller adds the reqId and the length
    prefix. A price change goes as tickPrice (message 1) carrying its size; a size-only
    change as tickSize (message 2), as TWS does. Tick types: 1/2 bid/ask, 0/3 their sizes,
    4/5 last and last size, 8 volume, 45 last timestamp (tickString, message 46).
    """
    out: list[tuple[bytes, bytes]] = []
    for tick_price, tick_size, price, size, old_price, old_size in (
        (1, 0, new.bid, new.bid_size, old.bid, old.bid_size),
        (2, 3, new.ask, new.ask_size, old.ask, old.ask_size),
    ):
        if price != old_price:
            if price > 0 and size > 0:
                out.append(
                    (_PRICE_HEAD, b"\x00%d\x00%s\x00%d\x000\x00" % (tick_price, _price_text(price), size))
                )
            else:
                # No quote on this side: IB sends price -1 with size 0.
                out.append((_PRICE_HEAD, b"\x00%d\x00-1\x000\x000\x00" % tick_price))
        elif size != old_size and price > 0:
            out.append((_SIZE_HEAD, b"\x00%d\x00%d\x00" % (tick_size, size)))
    if new.last_size > 0:
        if new.last != old.last or new.last_time != old.last_time:
            out.append((_PRICE_HEAD, b"\x004\x00%s\x00%d\x000\x00" % (_price_text(new.last), new.last_size)))
            if new.last_time is not None:
                out.append((_STRING_HEAD, b"\x0045\x00%d\x00" % int(new.last_time.timestamp())))
        elif new.last_size != old.last_size:
            out.append((_SIZE_HEAD, b"\x005\x00%d\x00" % new.last_size))
        if new.volume != old.volume:
            out.append((_SIZE_HEAD, b"\x008\x00%d\x00" % new.volume))
    return out


def frame_tick(head: bytes, req_id_text: bytes, tail: bytes) -> bytes:
    payload = head + req_id_text + tail
    return _LEN.pack(len(payload)) + payload
