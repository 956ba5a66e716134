"""Chain snapshot and label CSV files (the format is documented in the top-level README).

Snapshots: one row per contract per snapshot, columns
``ts, underlying, spot_bid, spot_ask, expiry, strike, right, bid, ask, bid_size, ask_size,
quote_ts``; consecutive rows with the same ``ts``, ``underlying`` and ``expiry`` form one
snapshot. Labels: one row per labeled contract per snapshot, columns
``ts, expiry, strike, right, kind`` plus ``anomaly_id, size, edge, tradable``.

Readers check every field and name the file, line and column of anything malformed.
``bid > ask`` is valid data (a crossed quote is an anomaly, not a format error).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Self

import numpy as np

from spyops.market.anomalies import AnomalyLabel
from spyops.market.chain import ChainArrays, from_epoch_ns, to_epoch_ns
from spyops.schemas import AnomalyKind, OptionRight

SNAPSHOT_COLUMNS = (
    "ts",
    "underlying",
    "spot_bid",
    "spot_ask",
    "expiry",
    "strike",
    "right",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "quote_ts",
)
LABEL_COLUMNS = ("ts", "expiry", "strike", "right", "kind")
LABEL_OPTIONAL_COLUMNS = ("anomaly_id", "size", "edge", "tradable")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")


class SnapshotFormatError(ValueError):
    """A snapshot or label file is malformed; the message names file, line and column."""


def format_ts(ts: dt.datetime) -> str:
    return ts.isoformat(timespec="milliseconds" if ts.microsecond % 1000 == 0 else "microseconds")


def _price(value: float) -> str:
    cents = value * 100.0
    return f"{value:.2f}" if abs(cents - round(cents)) < 1e-6 else repr(float(value))


class SnapshotCsvWriter:
    """Appends snapshots to an open text stream (header first)."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(SNAPSHOT_COLUMNS)
        self._ts_cache: dict[int, str] = {}

    def write(self, chain: ChainArrays) -> None:
        tz = chain.ts.tzinfo
        assert tz is not None
        ts = format_ts(chain.ts)
        expiry = chain.expiry.isoformat()
        spot_bid, spot_ask = _price(chain.spot_bid), _price(chain.spot_ask)
        cache = self._ts_cache
        if len(cache) > 100_000:
            cache.clear()
        rows = []
        for k in range(len(chain)):
            quote_ns = int(chain.quote_ts_ns[k])
            quote_ts = cache.get(quote_ns)
            if quote_ts is None:
                quote_ts = cache[quote_ns] = format_ts(from_epoch_ns(quote_ns, tz))
            rows.append(
                (
                    ts,
                    chain.underlying,
                    spot_bid,
                    spot_ask,
                    expiry,
                    _price(float(chain.strike[k])),
                    "C" if chain.is_call[k] else "P",
                    _price(float(chain.bid[k])),
                    _price(float(chain.ask[k])),
                    int(chain.bid_size[k]),
                    int(chain.ask_size[k]),
                    quote_ts,
                )
            )
        self._writer.writerows(rows)


class LabelCsvWriter:
    """Appends label rows to an open text stream (header first)."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(LABEL_COLUMNS + LABEL_OPTIONAL_COLUMNS)

    def write(self, labels: Iterable[AnomalyLabel]) -> None:
        for label in labels:
            self._writer.writerow(
                (
                    format_ts(label.ts),
                    label.expiry.isoformat(),
                    _price(label.strike),
                    label.right.value,
                    label.kind.value,
                    label.anomaly_id,
                    _price(label.size),
                    "" if label.edge is None else f"{label.edge:.4f}",
                    "true" if label.tradable else "false",
                )
            )


class _Fields:
    """Field parsing with errors that say where."""

    def __init__(self, path: Path, header: list[str], required: tuple[str, ...]) -> None:
        self.path = path
        missing = [c for c in required if c not in header]
        if missing:
            raise SnapshotFormatError(
                f"{path}:1: missing column(s) {', '.join(missing)} (header: {','.join(header)})"
            )
        self.index = {name: header.index(name) for name in header}
        self.width = len(header)
        self._ts_cache: dict[str, dt.datetime] = {}

    def fail(self, line: int, column: str, message: str) -> SnapshotFormatError:
        return SnapshotFormatError(f"{self.path}:{line}: column {column!r}: {message}")

    def text(self, row: list[str], line: int, column: str) -> str:
        return row[self.index[column]].strip()

    def ts(self, row: list[str], line: int, column: str) -> dt.datetime:
        raw = self.text(row, line, column)
        cached = self._ts_cache.get(raw)
        if cached is not None:
            return cached
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise self.fail(line, column, f"{raw!r} is not an ISO 8601 timestamp") from None
        if value.tzinfo is None:
            raise self.fail(line, column, f"{raw!r} has no UTC offset (write e.g. 2026-11-20T09:30:00-05:00)")
        if len(self._ts_cache) > 100_000:
            self._ts_cache.clear()
        self._ts_cache[raw] = value
        return value

    def date(self, row: list[str], line: int, column: str) -> dt.date:
        raw = self.text(row, line, column)
        try:
            if len(raw) != 10:
                raise ValueError
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise self.fail(line, column, f"{raw!r} is not a date (YYYY-MM-DD)") from None

    def number(self, row: list[str], line: int, column: str, *, positive: bool = False) -> float:
        raw = self.text(row, line, column)
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(line, column, f"{raw!r} is not a number") from None
        if not math.isfinite(value):
            raise self.fail(line, column, f"{raw!r} is not a finite number")
        if positive and value <= 0:
            raise self.fail(line, column, f"{raw} must be positive")
        if value < 0:
            raise self.fail(line, column, f"{raw} must not be negative")
        return value

    def count(self, row: list[str], line: int, column: str) -> int:
        raw = self.text(row, line, column)
        if not raw.isdigit():
            raise self.fail(line, column, f"{raw!r} is not a non-negative whole number")
        return int(raw)

    def right(self, row: list[str], line: int, column: str) -> OptionRight:
        raw = self.text(row, line, column)
        if raw not in ("C", "P"):
            raise self.fail(line, column, f"{raw!r} is not C or P")
        return OptionRight(raw)

    def symbol(self, row: list[str], line: int, column: str) -> str:
        raw = self.text(row, line, column)
        if not _SYMBOL.match(raw):
            raise self.fail(line, column, f"{raw!r} is not an underlying symbol")
        return raw


def _rows(path: Path, stream: IO[str], required: tuple[str, ...]) -> Iterator[tuple[_Fields, int, list[str]]]:
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader)]
        if header in ([], [""]):
            raise StopIteration
    except StopIteration:
        raise SnapshotFormatError(f"{path}:1: empty file (expected a header row)") from None
    except csv.Error as exc:
        raise SnapshotFormatError(f"{path}:1: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SnapshotFormatError(f"{path}: not UTF-8 text (byte {exc.start} of a block)") from None
    fields = _Fields(path, header, required)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SnapshotFormatError(f"{path}:{reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise SnapshotFormatError(f"{path}: not UTF-8 text after line {reader.line_num}") from None
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != fields.width:
            raise SnapshotFormatError(f"{path}:{line}: expected {fields.width} fields, found {len(row)}")
        yield fields, line, row


class _SnapshotBuilder:
    def __init__(
        self, ts: dt.datetime, underlying: str, expiry: dt.date, spot: tuple[float, float], line: int
    ):
        self.key = (ts, underlying, expiry)
        self.spot = spot
        self.first_line = line
        self.strikes: list[float] = []
        self.calls: list[bool] = []
        self.bids: list[float] = []
        self.asks: list[float] = []
        self.bid_sizes: list[int] = []
        self.ask_sizes: list[int] = []
        self.quote_ts: list[int] = []
        self.seen: dict[tuple[float, bool], int] = {}

    def build(self, path: Path) -> ChainArrays:
        ts, underlying, expiry = self.key
        strike = np.array(self.strikes, dtype=np.float64)
        is_call = np.array(self.calls, dtype=np.bool_)
        order = np.lexsort((~is_call, strike))
        return ChainArrays(
            ts=ts,
            underlying=underlying,
            expiry=expiry,
            spot_bid=self.spot[0],
            spot_ask=self.spot[1],
            strike=strike[order],
            is_call=is_call[order],
            bid=np.array(self.bids, dtype=np.float64)[order],
            ask=np.array(self.asks, dtype=np.float64)[order],
            bid_size=np.array(self.bid_sizes, dtype=np.int64)[order],
            ask_size=np.array(self.ask_sizes, dtype=np.int64)[order],
            quote_ts_ns=np.array(self.quote_ts, dtype=np.int64)[order],
        )


def read_snapshots(path: Path) -> Iterator[ChainArrays]:
    """Snapshots in file order. Raises SnapshotFormatError naming the line of any bad field."""
    with path.open(newline="", encoding="utf-8") as stream:
        current: _SnapshotBuilder | None = None
        for fields, line, row in _rows(path, stream, SNAPSHOT_COLUMNS):
            ts = fields.ts(row, line, "ts")
            underlying = fields.symbol(row, line, "underlying")
            expiry = fields.date(row, line, "expiry")
            spot = (
                fields.number(row, line, "spot_bid", positive=True),
                fields.number(row, line, "spot_ask", positive=True),
            )
            strike = fields.number(row, line, "strike", positive=True)
            is_call = fields.right(row, line, "right") is OptionRight.CALL
            bid = fields.number(row, line, "bid")
            ask = fields.number(row, line, "ask")
            bid_size = fields.count(row, line, "bid_size")
            ask_size = fields.count(row, line, "ask_size")
            quote_ts = fields.ts(row, line, "quote_ts")
            if current is None or current.key != (ts, underlying, expiry):
                if current is not None:
                    yield current.build(path)
                current = _SnapshotBuilder(ts, underlying, expiry, spot, line)
            elif spot != current.spot:
                raise SnapshotFormatError(
                    f"{path}:{line}: spot_bid/spot_ask {spot} differ from {current.spot} on line "
                    f"{current.first_line} of the same snapshot ({fields.text(row, line, 'ts')})"
                )
            previous = current.seen.get((strike, is_call))
            if previous is not None:
                raise SnapshotFormatError(
                    f"{path}:{line}: contract {strike} {'C' if is_call else 'P'} appears twice in the "
                    f"snapshot at {fields.text(row, line, 'ts')} (first on line {previous})"
                )
            current.seen[(strike, is_call)] = line
            current.strikes.append(strike)
            current.calls.append(is_call)
            current.bids.append(bid)
            current.asks.append(ask)
            current.bid_sizes.append(bid_size)
            current.ask_sizes.append(ask_size)
            current.quote_ts.append(to_epoch_ns(quote_ts))
        if current is not None:
            yield current.build(path)


def read_labels(path: Path) -> list[AnomalyLabel]:
    """All label rows. Optional columns default to: no id, size 0, no edge, tradable."""
    labels: list[AnomalyLabel] = []
    with path.open(newline="", encoding="utf-8") as stream:
        for fields, line, row in _rows(path, stream, LABEL_COLUMNS):
            kind_raw = fields.text(row, line, "kind")
            try:
                kind = AnomalyKind(kind_raw)
            except ValueError:
                known = ", ".join(k.value for k in AnomalyKind)
                raise fields.fail(line, "kind", f"{kind_raw!r} is not one of {known}") from None
            has = fields.index.__contains__
            edge_raw = fields.text(row, line, "edge") if has("edge") else ""
            edge: float | None = None
            if edge_raw:
                try:
                    edge = float(edge_raw)
                except ValueError:
                    raise fields.fail(line, "edge", f"{edge_raw!r} is not a number") from None
            tradable_raw = fields.text(row, line, "tradable").lower() if has("tradable") else "true"
            if tradable_raw not in ("true", "false"):
                raise fields.fail(line, "tradable", f"{tradable_raw!r} is not true or false")
            labels.append(
                AnomalyLabel(
                    ts=fields.ts(row, line, "ts"),
                    expiry=fields.date(row, line, "expiry"),
                    strike=fields.number(row, line, "strike", positive=True),
                    right=fields.right(row, line, "right"),
                    kind=kind,
                    anomaly_id=fields.text(row, line, "anomaly_id") if has("anomaly_id") else "",
                    size=fields.number(row, line, "size")
                    if has("size") and fields.text(row, line, "size")
                    else 0.0,
                    edge=edge,
                    tradable=tradable_raw == "true",
                )
            )
    return labels


class GeneratedFiles:
    """Writes a snapshot file and a label file side by side."""

    SNAPSHOTS = "snapshots.csv"
    LABELS = "labels.csv"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.snapshot_path = directory / self.SNAPSHOTS
        self.label_path = directory / self.LABELS
        self._snapshot_stream = self.snapshot_path.open("w", newline="", encoding="utf-8")
        self._label_stream = self.label_path.open("w", newline="", encoding="utf-8")
        self.snapshots = SnapshotCsvWriter(self._snapshot_stream)
        self.labels = LabelCsvWriter(self._label_stream)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._snapshot_stream.close()
        self._label_stream.close()
