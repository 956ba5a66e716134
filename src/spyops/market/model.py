"""A seeded, deterministic intraday SPY and 0DTE option chain, with injected anomalies.

Dynamics, per step of ``dt`` seconds (trading time):
- ATM volatility ``atm_vol * exp(h)`` with ``h`` an Ornstein-Uhlenbeck process (volatility
  that wanders and mean-reverts) that jumps up when the underlying jumps;
- the underlying follows a geometric random walk at that volatility plus Poisson jumps;
- options are Black-76 on the forward with an SVI-shaped smile in normalized moneyness
  (moves with the underlying, narrows toward the close);
- quotes are the fair value rounded outward to penny ticks with a width that grows with
  the option's value, sizes change now and then, and ``quote_ts`` is the last time a
  contract's displayed quote changed.

A clean chain (nothing injected) is free of static arbitrage at executable prices by
construction: every bid is at or below, and every ask at or above, an arbitrage-free fair
value. Anomalies (``inject`` on demand, or a Poisson schedule from the config) distort one
contract's quote for a few seconds and are labeled in every snapshot where they show.

Three independent random streams (market, schedule, injections) keep the market path the
same whether or not anomalies are injected on demand.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spyops.market.anomalies import (
    BLOWOUT_MIN_WIDTH,
    BLOWOUT_WIDTH_OVER_VALUE,
    NEAR_THRESHOLD_EDGE,
    SMALL_SIZES,
    TRADABLE_SIZES,
    AnomalyLabel,
    InjectedAnomaly,
    box_edge,
)
from spyops.market.chain import ChainArrays, from_epoch_ns, to_epoch_ns
from spyops.market.pricing import (
    NEW_YORK,
    TRADING_SECONDS_PER_YEAR,
    black76,
    expiry_close,
    smile_total_variance,
)
from spyops.schemas import AnomalyKind, ChainSnapshot, OptionQuote, OptionRight

_CALL, _PUT = 0, 1
_NS = 1_000_000_000


class MarketClosedError(ValueError):
    """The simulated clock cannot move past the 16:00 close of the 0DTE expiry."""


@dataclass(frozen=True)
class MarketConfig:
    """Parameters of the simulated session. Defaults give a realistic, calm-ish SPY day."""

    underlying: str = "SPY"
    spot: float = 590.0
    strike_step: float = 1.0
    strikes_each_side: int = 25  # 51 strikes, 102 contracts: about one IB market-data line budget
    start_time: dt.time = dt.time(9, 30)  # New York time
    rate: float = 0.045
    atm_vol: float = 0.14  # annualized over trading time
    vol_level_sd: float = 0.25  # stationary standard deviation of log volatility
    vol_reversion_seconds: float = 1_800.0
    jumps_per_hour: float = 0.5
    jump_sd: float = 0.0015  # relative size of one jump
    jump_vol_kick: float = 0.3  # log-volatility added per jump
    smile_wing: float = 0.25
    smile_skew: float = -0.6
    size_change_probability: float = 0.02  # per contract per step
    anomalies_per_minute: float = 0.0  # random schedule; 0 = only on-demand injections
    tradable_fraction: float = 0.8  # of scheduled anomalies (spread blowouts are never tradable)
    # Of scheduled anomalies, those sized so their edge starts between NEAR_THRESHOLD_EDGE times
    # min_edge (just short of it to well past it); 0 keeps every other draw exactly as before.
    near_threshold_fraction: float = 0.0
    anomaly_duration_seconds: tuple[float, float] = (3.0, 8.0)
    anomaly_kinds: tuple[AnomalyKind, ...] = tuple(AnomalyKind)
    injection_window_strikes: int = 6  # culprits are chosen this many strikes around the money
    min_edge: float = 5.0  # dollars per unit: what "tradable" means on a label
    fee_per_contract: float = 0.65
    label_history_seconds: float = 600.0  # how far back labels_at can look

    def __post_init__(self) -> None:
        checks = {
            "spot": self.spot > 0,
            "strike_step": self.strike_step > 0 and round(self.strike_step * 100) == self.strike_step * 100,
            "strikes_each_side": self.strikes_each_side >= 2,
            "atm_vol": self.atm_vol > 0,
            "vol_level_sd": self.vol_level_sd >= 0,
            "vol_reversion_seconds": self.vol_reversion_seconds > 0,
            "jumps_per_hour": self.jumps_per_hour >= 0,
            "jump_sd": self.jump_sd >= 0,
            "smile_wing": 0 <= self.smile_wing <= 0.4,
            "smile_skew": -1 < self.smile_skew < 1,
            "size_change_probability": 0 <= self.size_change_probability <= 1,
            "anomalies_per_minute": self.anomalies_per_minute >= 0,
            "tradable_fraction": 0 <= self.tradable_fraction <= 1,
            "near_threshold_fraction": 0 <= self.near_threshold_fraction <= 1,
            "anomaly_duration_seconds": 0
            < self.anomaly_duration_seconds[0]
            <= self.anomaly_duration_seconds[1],
            "anomaly_kinds": len(self.anomaly_kinds) > 0,
            "injection_window_strikes": self.injection_window_strikes >= 1,
            "min_edge": self.min_edge >= 0,
            "fee_per_contract": self.fee_per_contract >= 0,
            "label_history_seconds": self.label_history_seconds > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid MarketConfig field(s): {', '.join(bad)}")


@dataclass
class _Active:
    """An injected anomaly plus what the model needs to keep drawing it."""

    public: InjectedAnomaly
    row: int
    index: int
    start_ns: int
    end_ns: int
    direction: int = 1
    frozen: tuple[int, int, int, int, int] | None = None  # bid, ask (cents), sizes, quote_ts
    width_cents: int = 0


@dataclass
class _State:
    spot: float
    log_vol: float
    forward: float = 0.0
    discount: float = 1.0
    theo: NDArray[np.float64] = field(default_factory=lambda: np.zeros((2, 0)))
    delta: NDArray[np.float64] = field(default_factory=lambda: np.zeros((2, 0)))
    clean_bid: NDArray[np.int64] = field(default_factory=lambda: np.zeros((2, 0), dtype=np.int64))
    clean_ask: NDArray[np.int64] = field(default_factory=lambda: np.zeros((2, 0), dtype=np.int64))


class MarketModel:
    """The simulated session. Not thread-safe: one owner advances it."""

    def __init__(self, seed: int, session_date: dt.date, config: MarketConfig | None = None) -> None:
        self._config = config or MarketConfig()
        cfg = self._config
        self._seed = seed
        self._expiry = session_date
        start = dt.datetime.combine(session_date, cfg.start_time, tzinfo=NEW_YORK)
        self._close_ns = to_epoch_ns(expiry_close(session_date))
        self._now_ns = to_epoch_ns(start)
        if self._now_ns >= self._close_ns:
            raise MarketClosedError(f"session start {start.isoformat()} is not before the 16:00 close")
        market_seed, schedule_seed, inject_seed = np.random.SeedSequence(seed).spawn(3)
        self._market_rng = np.random.default_rng(market_seed)
        self._schedule_rng = np.random.default_rng(schedule_seed)
        self._inject_rng = np.random.default_rng(inject_seed)

        step_cents = round(cfg.strike_step * 100)
        center_cents = round(cfg.spot * 100 / step_cents) * step_cents
        offsets = np.arange(-cfg.strikes_each_side, cfg.strikes_each_side + 1, dtype=np.int64)
        strike_cents = center_cents + step_cents * offsets
        if strike_cents[0] <= 0:
            raise ValueError("strike grid reaches zero: fewer strikes_each_side or a larger spot")
        self._strike_array = strike_cents / 100.0
        self._strikes = tuple(float(k) for k in self._strike_array)
        n = len(self._strikes)
        self._width_mult = self._market_rng.uniform(1.0, 1.6, size=(2, n))
        self._state = _State(spot=cfg.spot, log_vol=0.0)
        self._pending_jump = 0.0
        self._shown_bid_size = np.zeros((2, len(self._strikes)), dtype=np.int64)
        self._shown_ask_size = np.zeros((2, len(self._strikes)), dtype=np.int64)
        self._bid = np.zeros((2, n), dtype=np.int64)
        self._ask = np.zeros((2, n), dtype=np.int64)
        self._bid_size = np.zeros((2, n), dtype=np.int64)
        self._ask_size = np.zeros((2, n), dtype=np.int64)
        self._quote_ts = np.full((2, n), self._now_ns, dtype=np.int64)
        self._anomalies: list[_Active] = []
        self._anomaly_count = 0
        self._labels: OrderedDict[int, tuple[AnomalyLabel, ...]] = OrderedDict()
        self._snapshot: ChainSnapshot | None = None
        self._quote_cache: dict[tuple[int, int], tuple[int, OptionQuote]] = {}
        self._next_injection_ns = self._draw_next_injection(self._now_ns)

        self._price()
        self._bid_size[:] = self._draw_sizes(np.ones((2, n), dtype=np.bool_))
        self._ask_size[:] = self._draw_sizes(np.ones((2, n), dtype=np.bool_))
        self._bid[:] = self._state.clean_bid
        self._ask[:] = self._state.clean_ask
        self._shown_bid_size = self._bid_size.copy()
        self._shown_ask_size = self._ask_size.copy()
        self._arrays = self._build_arrays()

    # ----- public interface -------------------------------------------------------------

    @property
    def config(self) -> MarketConfig:
        return self._config

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def underlying(self) -> str:
        return self._config.underlying

    @property
    def expiry(self) -> dt.date:
        return self._expiry

    @property
    def strikes(self) -> tuple[float, ...]:
        return self._strikes

    @property
    def now(self) -> dt.datetime:
        return from_epoch_ns(self._now_ns, NEW_YORK)

    @property
    def seconds_to_close(self) -> float:
        return (self._close_ns - self._now_ns) / _NS

    @property
    def spot(self) -> float:
        """Mid price of the underlying."""
        return self._state.spot

    @property
    def forward(self) -> float:
        return self._state.forward

    @property
    def atm_vol(self) -> float:
        return self._config.atm_vol * math.exp(self._state.log_vol)

    @property
    def arrays(self) -> ChainArrays:
        """The current snapshot as arrays (cheap; what the CSV writer and detector use)."""
        return self._arrays

    @property
    def snapshot(self) -> ChainSnapshot:
        """The current snapshot in the wire form (quote objects are reused while unchanged)."""
        if self._snapshot is None:
            self._snapshot = self._build_snapshot()
        return self._snapshot

    def fair_values(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Model fair values (calls, puts) per listed strike, in dollars."""
        return self._state.theo[_CALL].copy(), self._state.theo[_PUT].copy()

    @property
    def active_anomalies(self) -> tuple[InjectedAnomaly, ...]:
        return tuple(a.public for a in self._anomalies)

    @property
    def labels(self) -> tuple[AnomalyLabel, ...]:
        """Ground-truth labels of the current snapshot."""
        return self._labels.get(self._now_ns, ())

    def labels_at(self, ts: dt.datetime) -> tuple[AnomalyLabel, ...]:
        """Ground-truth labels of the snapshot taken at ``ts`` (within the label history)."""
        return self._labels.get(to_epoch_ns(ts), ())

    def advance(self, seconds: float = 0.1) -> ChainSnapshot:
        """Move the clock forward and return the new snapshot."""
        self.step(seconds)
        return self.snapshot

    def step(self, seconds: float = 0.1) -> ChainArrays:
        """Move the clock forward and return the new snapshot as arrays (no pydantic objects)."""
        if not seconds > 0:
            raise ValueError(f"advance needs a positive number of seconds, got {seconds}")
        new_ns = self._now_ns + round(seconds * _NS)
        if new_ns >= self._close_ns:
            raise MarketClosedError(
                f"cannot advance to {from_epoch_ns(new_ns, NEW_YORK).isoformat()}: "
                "the 0DTE session closes at 16:00 New York time"
            )
        while self._next_injection_ns <= new_ns:
            self._inject_scheduled()
            self._next_injection_ns = self._draw_next_injection(self._next_injection_ns)
        self._now_ns = new_ns
        self._anomalies = [a for a in self._anomalies if a.end_ns >= new_ns]
        self._evolve(seconds)
        self._price()
        self._quote()
        self._record_labels()
        self._arrays = self._build_arrays()
        self._snapshot = None
        return self._arrays

    def inject(
        self,
        kind: AnomalyKind,
        *,
        strike: float | None = None,
        right: OptionRight | None = None,
        size: float | None = None,
        duration_seconds: float | None = None,
    ) -> InjectedAnomaly:
        """Start an anomaly now; it shows from the next snapshot and clears after its duration.

        Without ``strike``/``right`` a contract near the money that can carry this kind is
        chosen; without ``size`` a tradable size is drawn; without ``duration_seconds`` a
        few seconds. Raises ValueError when the request cannot be honoured.
        """
        kind = AnomalyKind(kind)
        if size is not None and not (math.isfinite(size) and size >= 0):
            raise ValueError(f"anomaly size must be a non-negative number of dollars, got {size}")
        if duration_seconds is not None and not (math.isfinite(duration_seconds) and duration_seconds > 0):
            raise ValueError(f"anomaly duration must be positive seconds, got {duration_seconds}")
        placed = self._place(kind, strike, right, self._inject_rng)
        if placed is None:
            raise ValueError(f"no contract near the money can carry a {kind.value} anomaly now")
        row, index = placed
        if size is None:
            size = self._draw_size(kind, row, index, tradable=True, rng=self._inject_rng)
        return self._start(kind, row, index, size, duration_seconds, self._inject_rng)

    # ----- dynamics -----------------------------------------------------------------------

    def _evolve(self, seconds: float) -> None:
        cfg = self._config
        state = self._state
        rng = self._market_rng
        sigma = cfg.atm_vol * math.exp(state.log_vol)
        dt_years = seconds / TRADING_SECONDS_PER_YEAR
        shock = float(rng.standard_normal())
        jumps = int(rng.poisson(cfg.jumps_per_hour * seconds / 3600.0))
        jump = float(rng.normal(0.0, cfg.jump_sd * math.sqrt(jumps))) if jumps else 0.0
        vol_shock = float(rng.standard_normal())
        log_return = -0.5 * sigma * sigma * dt_years + sigma * math.sqrt(dt_years) * shock + jump
        state.spot = state.spot * math.exp(log_return) + self._pending_jump
        self._pending_jump = 0.0
        decay = math.exp(-seconds / cfg.vol_reversion_seconds)
        state.log_vol = (
            state.log_vol * decay
            + cfg.vol_level_sd * math.sqrt(1.0 - decay * decay) * vol_shock
            + cfg.jump_vol_kick * jumps
        )
        changed = rng.random(self._bid_size.shape) < cfg.size_change_probability
        if changed.any():
            self._bid_size = np.where(changed, self._draw_sizes(changed), self._bid_size)
            changed = rng.random(self._ask_size.shape) < cfg.size_change_probability
            self._ask_size = np.where(changed, self._draw_sizes(changed), self._ask_size)

    def _draw_sizes(self, mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        # Deeper books near the money: a Poisson size around 10..160 contracts.
        z = np.abs(self._strike_array - self._state.spot) / max(self._state.spot * 0.004, 0.5)
        lam = 10.0 + 150.0 * np.exp(-0.5 * z * z)
        sizes: NDArray[np.int64] = 1 + self._market_rng.poisson(np.broadcast_to(lam, mask.shape))
        return sizes

    def _price(self) -> None:
        cfg = self._config
        state = self._state
        years = max((self._close_ns - self._now_ns) / _NS, 1.0) / TRADING_SECONDS_PER_YEAR
        sigma = cfg.atm_vol * math.exp(state.log_vol)
        state.discount = math.exp(-cfg.rate * years)
        state.forward = state.spot / state.discount
        log_moneyness = np.log(self._strike_array / state.forward)
        variance = smile_total_variance(log_moneyness, sigma * sigma * years, cfg.smile_wing, cfg.smile_skew)
        calls, puts, call_delta = black76(state.forward, self._strike_array, variance, state.discount)
        state.theo = np.stack([calls, puts])
        state.delta = np.stack([call_delta, call_delta - 1.0])
        theo_cents = state.theo * 100.0
        width = np.maximum(1.0, np.rint((1.0 + 0.3 * state.theo) * self._width_mult))
        bid = np.maximum(np.floor(theo_cents - width / 2.0), 0.0).astype(np.int64)
        ask = np.ceil(theo_cents + width / 2.0).astype(np.int64)
        state.clean_bid = bid
        state.clean_ask = np.maximum(ask, bid + 1)

    def _quote(self) -> None:
        state = self._state
        bid = state.clean_bid.copy()
        ask = state.clean_ask.copy()
        bid_size = self._bid_size.copy()
        ask_size = self._ask_size.copy()
        stale = np.zeros(bid.shape, dtype=np.bool_)
        for anomaly in self._anomalies:
            self._distort(anomaly, bid, ask, bid_size, ask_size, stale)
        changed = (bid != self._bid) | (ask != self._ask)
        changed |= (bid_size != self._shown_bid_size) | (ask_size != self._shown_ask_size)
        changed &= ~stale
        self._quote_ts = np.where(changed, self._now_ns, self._quote_ts)
        for anomaly in self._anomalies:
            if anomaly.frozen is not None:
                self._quote_ts[anomaly.row, anomaly.index] = anomaly.frozen[4]
        self._bid, self._ask = bid, ask
        self._shown_bid_size, self._shown_ask_size = bid_size, ask_size

    def _distort(
        self,
        anomaly: _Active,
        bid: NDArray[np.int64],
        ask: NDArray[np.int64],
        bid_size: NDArray[np.int64],
        ask_size: NDArray[np.int64],
        stale: NDArray[np.bool_],
    ) -> None:
        r, i = anomaly.row, anomaly.index
        kind = anomaly.public.kind
        size_cents = round(anomaly.public.size * 100)
        width = int(ask[r, i] - bid[r, i])
        if kind is AnomalyKind.VERTICAL_SPREAD:
            # A call must be worth less than the call one strike below (a put, less than
            # the put one strike above): push this one's bid through that neighbour's ask.
            j = i - 1 if r == _CALL else i + 1
            bid[r, i] = ask[r, j] + size_cents
            ask[r, i] = bid[r, i] + width
        elif kind is AnomalyKind.BUTTERFLY:
            # Lift the body's bid above the average of the wings' asks (negative butterfly).
            bid[r, i] = -((-(ask[r, i - 1] + ask[r, i + 1] + size_cents)) // 2)
            ask[r, i] = bid[r, i] + width
        elif kind in (AnomalyKind.PARITY, AnomalyKind.IV_OUTLIER):
            shift = anomaly.direction * size_cents
            bid[r, i] = max(bid[r, i] + shift, 0)
            ask[r, i] = max(ask[r, i] + shift, bid[r, i] + 1)
        elif kind is AnomalyKind.CROSSED_QUOTE:
            bid[r, i] = ask[r, i] + size_cents
        elif kind is AnomalyKind.SPREAD_BLOWOUT:
            theo = self._state.theo[r, i] * 100.0
            bid[r, i] = max(math.floor(theo - anomaly.width_cents / 2), 0)
            ask[r, i] = max(math.ceil(theo + anomaly.width_cents / 2), bid[r, i] + 1)
        elif kind is AnomalyKind.STALE_QUOTE:
            assert anomaly.frozen is not None
            bid[r, i], ask[r, i], bid_size[r, i], ask_size[r, i] = anomaly.frozen[:4]
            stale[r, i] = True

    # ----- labels -------------------------------------------------------------------------

    def _record_labels(self) -> None:
        labels = tuple(label for a in self._anomalies if (label := self._label(a)) is not None)
        if labels:
            self._labels[self._now_ns] = labels
        horizon = self._now_ns - round(self._config.label_history_seconds * _NS)
        while self._labels and next(iter(self._labels)) < horizon:
            self._labels.popitem(last=False)

    def _label(self, anomaly: _Active) -> AnomalyLabel | None:
        r, i = anomaly.row, anomaly.index
        kind = anomaly.public.kind
        if kind is AnomalyKind.STALE_QUOTE:
            theo = self._state.theo[r, i] * 100.0
            if self._bid[r, i] <= theo <= self._ask[r, i]:
                return None  # frozen but still fair: not (yet) an anomaly
        edge = self._best_edge(r, i, self._bid, self._ask)
        return AnomalyLabel(
            ts=self.now,
            expiry=self._expiry,
            strike=self._strikes[i],
            right=anomaly.public.right,
            kind=kind,
            anomaly_id=anomaly.public.id,
            size=anomaly.public.size,
            edge=round(edge, 4),
            tradable=edge >= self._config.min_edge,
        )

    def _best_edge(self, r: int, i: int, bid: NDArray[np.int64], ask: NDArray[np.int64]) -> float:
        """Best executable edge (dollars per unit, after fees) of any trade through contract (r, i).

        The trades: the quote against fair value, against itself (crossed), verticals with
        both neighbours, butterflies with it as body or wing, and the box against the strike
        nearest the forward. Quotes are in cents, so a cent per share is a dollar per contract.
        """
        fee = self._config.fee_per_contract
        n = len(self._strikes)
        b, a = bid[r], ask[r]
        theo = float(self._state.theo[r, i]) * 100.0
        gap = round(self._config.strike_step * 100)
        edges = [max(b[i] - theo, theo - a[i]) - fee, float(b[i] - a[i]) - 2 * fee]
        for lower, upper in ((i - 1, i), (i, i + 1)):
            if lower < 0 or upper >= n:
                continue
            if r == _CALL:
                edges += [float(b[upper] - a[lower]) - 2 * fee, float(b[lower] - a[upper] - gap) - 2 * fee]
            else:
                edges += [float(b[lower] - a[upper]) - 2 * fee, float(b[upper] - a[lower] - gap) - 2 * fee]
        for center in (i - 1, i, i + 1):
            if 1 <= center <= n - 2:
                edges.append(float(2 * b[center] - a[center - 1] - a[center + 1]) - 4 * fee)
        edges.append(self._box_edge(i, bid, ask))
        return float(max(edges))

    def _box_edge(self, i: int, bid: NDArray[np.int64], ask: NDArray[np.int64]) -> float:
        order = np.argsort(np.abs(self._strike_array - self._state.forward), kind="stable")
        ref = int(order[0]) if int(order[0]) != i else int(order[1])
        b, a = bid / 100.0, ask / 100.0
        return box_edge(
            self._strikes[i],
            b[_CALL, i],
            a[_CALL, i],
            b[_PUT, i],
            a[_PUT, i],
            self._strikes[ref],
            b[_CALL, ref],
            a[_CALL, ref],
            b[_PUT, ref],
            a[_PUT, ref],
            self._state.discount,
            self._config.fee_per_contract,
        )

    # ----- injection ----------------------------------------------------------------------

    def _draw_next_injection(self, after_ns: int) -> int:
        rate = self._config.anomalies_per_minute
        if rate <= 0:
            return self._close_ns + 1
        return after_ns + round(self._schedule_rng.exponential(60.0 / rate) * _NS)

    def _inject_scheduled(self) -> None:
        """A random anomaly whose ground truth is unambiguous: tradable ones clear min_edge by
        half again, small ones stay under half of it (checked on the current quotes). With
        ``near_threshold_fraction``, that share is sized to start near min_edge instead."""
        cfg = self._config
        rng = self._schedule_rng
        kind = cfg.anomaly_kinds[int(rng.integers(len(cfg.anomaly_kinds)))]
        # Only drawn when asked for, so models without near-threshold anomalies replay unchanged.
        near = cfg.near_threshold_fraction > 0 and bool(rng.random() < cfg.near_threshold_fraction)
        if near and kind not in (AnomalyKind.STALE_QUOTE, AnomalyKind.SPREAD_BLOWOUT):
            self._inject_near_threshold(kind, rng)
            return
        tradable = kind is not AnomalyKind.SPREAD_BLOWOUT and bool(rng.random() < cfg.tradable_fraction)
        candidates = self._candidates(kind, None, None, whole_chain=not tradable)
        if not candidates:
            return
        order = rng.permutation(len(candidates))[:25]
        for pick in order:
            row, index = candidates[int(pick)]
            size = self._draw_size(kind, row, index, tradable=tradable, rng=rng)
            if kind is AnomalyKind.STALE_QUOTE or self._in_class(kind, row, index, size, tradable):
                self._start(kind, row, index, size, None, rng)
                return

    def _inject_near_threshold(self, kind: AnomalyKind, rng: np.random.Generator) -> None:
        """An anomaly whose edge on the current quotes is within NEAR_THRESHOLD_EDGE x min_edge: from
        the top of the small sizes to the top of the tradable ones, the first size that lands there.
        (Stale quotes and blowouts have no edge to aim at when they start.)"""
        candidates = self._candidates(kind, None, None, whole_chain=False)
        if not candidates:
            return
        low, high = SMALL_SIZES[kind][1], TRADABLE_SIZES[kind][1]
        # Half aim just short of min_edge, half just past it, so both sides of the line are there.
        lowest, highest = (f * self._config.min_edge for f in NEAR_THRESHOLD_EDGE)
        limit = self._config.min_edge
        low_edge, high_edge = (lowest, limit) if rng.random() < 0.5 else (limit, highest)
        for pick in rng.permutation(len(candidates))[:25]:
            row, index = candidates[int(pick)]
            for _ in range(6):
                size = round(float(rng.uniform(low, high)), 2)
                if low_edge <= self._trial_edge(kind, row, index, size) < high_edge:
                    self._start(kind, row, index, size, None, rng)
                    return

    def _in_class(self, kind: AnomalyKind, row: int, index: int, size: float, tradable: bool) -> bool:
        edge = self._trial_edge(kind, row, index, size)
        limit = self._config.min_edge
        return edge >= 1.5 * limit if tradable else edge <= 0.5 * limit

    def _trial_edge(self, kind: AnomalyKind, row: int, index: int, size: float) -> float:
        """The best edge an anomaly of this size would show on the current quotes."""
        trial = _Active(
            public=InjectedAnomaly(
                "trial",
                kind,
                "",
                self._expiry,
                self._strikes[index],
                OptionRight.CALL,
                size,
                self.now,
                self.now,
            ),
            row=row,
            index=index,
            start_ns=self._now_ns,
            end_ns=self._now_ns,
            width_cents=max(round(size * 100), 1),
        )
        bid, ask = self._bid.copy(), self._ask.copy()
        sizes = self._shown_bid_size.copy()
        self._distort(trial, bid, ask, sizes, sizes.copy(), np.zeros(bid.shape, dtype=np.bool_))
        return self._best_edge(row, index, bid, ask)

    def _draw_size(
        self, kind: AnomalyKind, row: int, index: int, *, tradable: bool, rng: np.random.Generator
    ) -> float:
        if kind is AnomalyKind.SPREAD_BLOWOUT:
            low, high = BLOWOUT_WIDTH_OVER_VALUE
            return round(
                max(BLOWOUT_MIN_WIDTH, float(self._state.theo[row, index]) * rng.uniform(low, high)), 2
            )
        low, high = (TRADABLE_SIZES if tradable else SMALL_SIZES)[kind]
        return round(float(rng.uniform(low, high)), 2)

    def _place(
        self,
        kind: AnomalyKind,
        strike: float | None,
        right: OptionRight | None,
        rng: np.random.Generator,
    ) -> tuple[int, int] | None:
        """Choose (row, strike index) for an anomaly, or None when nothing fits."""
        candidates = self._candidates(kind, strike, right, whole_chain=False)
        if not candidates:
            return None
        return candidates[int(rng.integers(len(candidates)))]

    def _candidates(
        self, kind: AnomalyKind, strike: float | None, right: OptionRight | None, *, whole_chain: bool
    ) -> list[tuple[int, int]]:
        """Every (row, strike index) that can carry this anomaly now."""
        n = len(self._strikes)
        state = self._state
        if strike is not None:
            matches = np.flatnonzero(np.isclose(self._strike_array, strike, rtol=0, atol=1e-6))
            if matches.size == 0:
                raise ValueError(
                    f"strike {strike} is not listed (listed: {self._strikes[0]}..{self._strikes[-1]})"
                )
            indices = [int(matches[0])]
        else:
            atm = int(np.argmin(np.abs(self._strike_array - state.forward)))
            window = n if whole_chain else self._config.injection_window_strikes
            busy = {a.index for a in self._anomalies}
            indices = [
                i
                for i in range(max(atm - window, 0), min(atm + window, n - 1) + 1)
                if all(abs(i - b) > 2 for b in busy)
            ]
        rows = [_CALL if right is OptionRight.CALL else _PUT] if right is not None else [_CALL, _PUT]
        explicit = strike is not None and right is not None
        candidates: list[tuple[int, int]] = []
        for i in indices:
            for r in rows:
                if self._fits(kind, r, i, explicit):
                    candidates.append((r, i))
        if not candidates and strike is not None:
            raise ValueError(
                f"a {kind.value} anomaly cannot be placed at strike {strike}"
                + (f" {right.value}" if right is not None else "")
                + " now (it needs neighbouring strikes and, for most kinds, an option with some value)"
            )
        return candidates

    def _fits(self, kind: AnomalyKind, row: int, i: int, explicit: bool) -> bool:
        n = len(self._strikes)
        theo = float(self._state.theo[row, i])
        if kind is AnomalyKind.VERTICAL_SPREAD:
            return (row == _CALL and i >= 1) or (row == _PUT and i <= n - 2)
        if kind is AnomalyKind.BUTTERFLY:
            return 1 <= i <= n - 2
        if explicit:
            return True
        otm = (row == _CALL) == (self._strike_array[i] >= self._state.forward)
        if kind is AnomalyKind.IV_OUTLIER:
            return otm and theo >= 0.10
        if kind is AnomalyKind.PARITY:
            return theo >= 0.10
        if kind is AnomalyKind.STALE_QUOTE:
            return theo >= 0.10 and abs(float(self._state.delta[row, i])) >= 0.25
        if kind is AnomalyKind.SPREAD_BLOWOUT:
            return theo >= 0.20
        return True  # crossed or locked: any quote

    def _start(
        self,
        kind: AnomalyKind,
        row: int,
        index: int,
        size: float,
        duration_seconds: float | None,
        rng: np.random.Generator,
    ) -> InjectedAnomaly:
        cfg = self._config
        if duration_seconds is None:
            duration_seconds = float(rng.uniform(*cfg.anomaly_duration_seconds))
        self._anomaly_count += 1
        start_ns = self._now_ns
        end_ns = start_ns + round(duration_seconds * _NS)
        public = InjectedAnomaly(
            id=f"A{self._anomaly_count:05d}",
            kind=kind,
            underlying=cfg.underlying,
            expiry=self._expiry,
            strike=self._strikes[index],
            right=OptionRight.CALL if row == _CALL else OptionRight.PUT,
            size=size,
            start=from_epoch_ns(start_ns, NEW_YORK),
            end=from_epoch_ns(end_ns, NEW_YORK),
        )
        active = _Active(public=public, row=row, index=index, start_ns=start_ns, end_ns=end_ns)
        if kind in (AnomalyKind.PARITY, AnomalyKind.IV_OUTLIER):
            cheap_ok = int(self._bid[row, index]) >= round(size * 100) + 2
            active.direction = -1 if cheap_ok and rng.random() < 0.5 else 1
        elif kind is AnomalyKind.SPREAD_BLOWOUT:
            active.width_cents = max(round(size * 100), 1)
        elif kind is AnomalyKind.STALE_QUOTE:
            active.frozen = (
                int(self._bid[row, index]),
                int(self._ask[row, index]),
                int(self._shown_bid_size[row, index]),
                int(self._shown_ask_size[row, index]),
                int(self._quote_ts[row, index]),
            )
            # A quote left behind after the underlying moved: move it by enough that this
            # option's fair value leaves the frozen quote by about ``size``.
            delta = max(abs(float(self._state.delta[row, index])), 0.05)
            half_width = (self._ask[row, index] - self._bid[row, index]) / 200.0
            move = min((size + half_width) / delta, 0.01 * self._state.spot)
            self._pending_jump += move if rng.random() < 0.5 else -move
        self._anomalies.append(active)
        return public

    # ----- output -------------------------------------------------------------------------

    def _build_arrays(self) -> ChainArrays:
        n = len(self._strikes)
        spot_bid_cents = math.floor(self._state.spot * 100.0)
        return ChainArrays(
            ts=self.now,
            underlying=self._config.underlying,
            expiry=self._expiry,
            spot_bid=spot_bid_cents / 100.0,
            spot_ask=(spot_bid_cents + 1) / 100.0,
            strike=np.repeat(self._strike_array, 2),
            is_call=np.tile(np.array([True, False]), n),
            bid=self._bid.T.ravel() / 100.0,
            ask=self._ask.T.ravel() / 100.0,
            bid_size=self._shown_bid_size.T.ravel().copy(),
            ask_size=self._shown_ask_size.T.ravel().copy(),
            quote_ts_ns=self._quote_ts.T.ravel().copy(),
        )

    def _build_snapshot(self) -> ChainSnapshot:
        arrays = self._arrays
        quotes: list[OptionQuote] = []
        for k in range(len(arrays)):
            key = (k // 2, k % 2)
            ts_ns = int(arrays.quote_ts_ns[k])
            cached = self._quote_cache.get(key)
            if cached is None or cached[0] != ts_ns:
                quote = OptionQuote(
                    strike=float(arrays.strike[k]),
                    right=OptionRight.CALL if k % 2 == 0 else OptionRight.PUT,
                    bid=float(arrays.bid[k]),
                    ask=float(arrays.ask[k]),
                    bid_size=int(arrays.bid_size[k]),
                    ask_size=int(arrays.ask_size[k]),
                    quote_ts=from_epoch_ns(ts_ns, NEW_YORK),
                )
                cached = (ts_ns, quote)
                self._quote_cache[key] = cached
            quotes.append(cached[1])
        return ChainSnapshot(
            ts=arrays.ts,
            underlying=arrays.underlying,
            spot_bid=arrays.spot_bid,
            spot_ask=arrays.spot_ask,
            expiry=arrays.expiry,
            quotes=tuple(quotes),
        )
