"""The detector's path from gateway quotes to published signals, for benchmarks and end-to-end tests.

Market data comes from the gateway over the TWS protocol (ib_async); every batch of quote
updates rebuilds the chain window as ``ChainArrays`` and runs the detector's own functions
(``scan_chain``, ``SignalTracker``, ``build_signal``); new episodes are published on a
``SignalLog``, the detector -> bot transport. It stands where the detector service stands,
with the same rules and hysteresis; it does not replace that service (no probes, no config
reload, no outbox).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Callable

import numpy as np
from ib_async import IB, Contract, Option, Stock, Ticker

from spyops.detector import ScanParams, SignalTracker, build_signal, scan_chain
from spyops.market.chain import ChainArrays, to_epoch_ns
from spyops.schemas import DetectorSettings, Signal
from spyops.signalstream import SignalLog

log = logging.getLogger(__name__)


def _price(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) or value < 0 else float(value)


def _size(value: float) -> int:
    return 0 if value is None or math.isnan(value) or value < 0 else int(value)


class DetectorFeed:
    def __init__(
        self,
        ib: IB,
        signal_log: SignalLog,
        *,
        strategy: str,
        underlying: str,
        expiry: dt.date,
        strikes: list[float],
        settings: DetectorSettings | None = None,
        on_signal: Callable[[Signal], None] | None = None,
    ) -> None:
        self.ib = ib
        self.log = signal_log
        self.strategy = strategy
        self.underlying = underlying
        self.expiry = expiry
        self.strikes = sorted(strikes)
        settings = settings or DetectorSettings()
        self.params = ScanParams.from_settings(settings)
        self.tracker = SignalTracker(settings.clear_after_snapshots)
        self.on_signal = on_signal
        self._stock: Ticker | None = None
        self._options: list[Ticker] = []  # strike-sorted, calls first at each strike
        self._pending: set[asyncio.Future[int]] = set()
        self.scans = 0
        self.published: list[Signal] = []

    async def start(self) -> None:
        wanted: list[Contract] = [Stock(self.underlying, "SMART", "USD")]
        expiry = self.expiry.strftime("%Y%m%d")
        for strike in self.strikes:
            for right in ("C", "P"):
                wanted.append(Option(self.underlying, expiry, strike, right, "SMART", "100", "USD"))
        qualified: list[object] = []
        for start in range(0, len(wanted), 20):  # stay under the gateway's 50 messages/s
            qualified += await self.ib.qualifyContractsAsync(*wanted[start : start + 20])
            await asyncio.sleep(0.5)
        missing = [c for c, q in zip(wanted, qualified, strict=True) if not isinstance(q, Contract)]
        if missing:
            raise RuntimeError(f"the gateway does not know {len(missing)} chain contracts, e.g. {missing[0]}")
        contracts = [q for q in qualified if isinstance(q, Contract)]
        self._stock = self.ib.reqMktData(contracts[0], "", False, False)
        self._options = []
        for start in range(1, len(contracts), 20):
            self._options += [self.ib.reqMktData(c, "", False, False) for c in contracts[start : start + 20]]
            await asyncio.sleep(0.5)
        self.ib.pendingTickersEvent += self._on_tickers

    def stop(self) -> None:
        self.ib.pendingTickersEvent -= self._on_tickers

    def chain(self) -> ChainArrays | None:
        stock = self._stock
        if stock is None or not (_price(stock.bid) > 0 and _price(stock.ask) > 0):
            return None
        now = dt.datetime.now(dt.UTC)
        tickers = self._options
        return ChainArrays(
            ts=now,
            underlying=self.underlying,
            expiry=self.expiry,
            spot_bid=_price(stock.bid),
            spot_ask=_price(stock.ask),
            strike=np.array([t.contract.strike for t in tickers], dtype=np.float64),  # type: ignore[union-attr]
            is_call=np.array([t.contract.right == "C" for t in tickers], dtype=np.bool_),  # type: ignore[union-attr]
            bid=np.array([_price(t.bid) for t in tickers], dtype=np.float64),
            ask=np.array([_price(t.ask) for t in tickers], dtype=np.float64),
            bid_size=np.array([_size(t.bidSize) for t in tickers], dtype=np.int64),
            ask_size=np.array([_size(t.askSize) for t in tickers], dtype=np.int64),
            quote_ts_ns=np.array([to_epoch_ns(t.time) if t.time else 0 for t in tickers], dtype=np.int64),
        )

    def scan_once(self) -> list[Signal]:
        chain = self.chain()
        if chain is None:
            return []
        self.scans += 1
        emitted = self.tracker.update(chain, scan_chain(chain, self.params))
        detected_at = dt.datetime.now(dt.UTC)
        signals = [
            build_signal(
                e.finding,
                chain,
                episode_start=e.episode_start,
                detected_at=detected_at,
                strategy=self.strategy,
            )
            for e in emitted
        ]
        for signal in signals:
            self.published.append(signal)
            if self.on_signal is not None:
                self.on_signal(signal)
            task = asyncio.ensure_future(self.log.append(signal))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return signals

    def _on_tickers(self, _changed: set[Ticker]) -> None:
        try:
            self.scan_once()
        except Exception:
            log.exception("detector feed scan failed")
