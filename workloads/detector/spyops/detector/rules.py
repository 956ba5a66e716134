"""The detector's rules: pure, vectorized functions over one chain snapshot.

The hot path is a fixed sequence of numpy operations over arrays sorted by strike (calls
and puts interleaved, so every per-right view is a stride, not a copy). Python objects are
built only for candidates that pass a rule, which on a healthy chain is none.

Prices are executable: buy legs at the ask, sell legs at the bid, minus a fee per contract.
Each finding names one culprit, the contract whose quote is out of line, chosen among the
trade's legs as the one furthest from the smile's fair value in its own half-spreads.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from spyops.detector.numerics import fast_median, normal_pdf, normal_total_vol, otm_price, robust_polyfit
from spyops.market.chain import ChainArrays, to_epoch_ns
from spyops.market.pricing import TRADING_SECONDS_PER_YEAR, expiry_close
from spyops.schemas import AnomalyKind, DetectorSettings, LegAction

FloatArray = NDArray[np.float64]
MULTIPLIER = 100.0
RISK_FREE_RATE = 0.045  # only enters the discount factor, within 1e-4 of 1 for a 0DTE option
TICK = 0.01
BLOWOUT_MIN_WIDTH = 0.05  # narrower quotes are penny quotes on cheap options, not blowouts
STALE_MIN_OFFSET = 0.02  # a stale quote is flagged when fair value left it by more than this
FORWARD_STRIKES = 4  # strikes each side of spot used for the implied forward
FIT_DEGREE = 4
NO_ASK = 1e9  # stands in for a missing ask: never bought, never a valid quote
MIN_FIT_POINTS = 6
_POWERS = tuple(np.arange(degree + 1, dtype=np.float64) for degree in range(FIT_DEGREE + 1))

# Priority when several rules name the same culprit in one snapshot: the most specific first.
RULE_ORDER = (
    AnomalyKind.CROSSED_QUOTE,
    AnomalyKind.VERTICAL_SPREAD,
    AnomalyKind.BUTTERFLY,
    AnomalyKind.PARITY,
    AnomalyKind.STALE_QUOTE,
    AnomalyKind.IV_OUTLIER,
    AnomalyKind.SPREAD_BLOWOUT,
)
_PRIORITY = {rule: rank for rank, rule in enumerate(RULE_ORDER)}


@dataclass(frozen=True, slots=True)
class ScanParams:
    """Thresholds for one scan, from the strategy's DetectorSettings."""

    min_edge: float = 5.0
    fee: float = 0.65
    iv_zscore: float = 4.0
    stale_after_ns: int = 2_000_000_000
    max_spread_ratio: float = 0.5
    enabled: frozenset[AnomalyKind] = frozenset(AnomalyKind)

    @classmethod
    def from_settings(cls, settings: DetectorSettings) -> ScanParams:
        unknown = sorted(set(settings.rules) - {k.value for k in AnomalyKind})
        if unknown:
            known = ", ".join(k.value for k in AnomalyKind)
            raise ValueError(f"detector settings: unknown rule(s) {', '.join(unknown)} (known: {known})")
        enabled = frozenset(k for k in AnomalyKind if settings.rules.get(k.value, True))
        return cls(
            min_edge=settings.min_edge,
            fee=settings.fee_per_contract,
            iv_zscore=settings.iv_zscore,
            stale_after_ns=settings.stale_after_ms * 1_000_000,
            max_spread_ratio=settings.max_spread_ratio,
            enabled=enabled,
        )


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One leg of a capturing trade: a contract (flat index into the chain), a side, a ratio."""

    index: int
    action: LegAction
    ratio: int


# A rule's raw hit: the rule, its edge after fees, the capturing trade's legs, and either the
# culprit's row or the legs the culprit is to be chosen among.
_Candidate = tuple[AnomalyKind, float, tuple[LegSpec, ...], int | tuple[LegSpec, ...]]


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly in one snapshot. ``legs`` is empty for quote-quality flags with no trade."""

    culprit: int
    rule: AnomalyKind
    edge: float
    score: float
    legs: tuple[LegSpec, ...]

    @property
    def tradable(self) -> bool:
        return bool(self.legs)


def _buy(index: int, ratio: int = 1) -> LegSpec:
    return LegSpec(index, LegAction.BUY, ratio)


def _sell(index: int, ratio: int = 1) -> LegSpec:
    return LegSpec(index, LegAction.SELL, ratio)


class _Context:
    """What candidate handling needs: fair values and z-scores of the few contracts involved.

    Built only when something fired, and computed per contract on demand (scalar arithmetic
    over a handful of legs is cheaper than another pass over the whole chain).
    """

    def __init__(
        self,
        chain: ChainArrays,
        ask: FloatArray,
        forward: float,
        discount: float,
        fair_window: tuple[int, int, FloatArray] | None,
    ) -> None:
        self._chain = chain
        self._bid = chain.bid
        self._ask = ask
        self._forward = forward
        self._discount = discount
        self._window = fair_window
        self._scale = 1.0
        if fair_window is not None:
            # Robust spread of every window quote's distance from fair value, in half-spreads.
            lo, hi, otm_fair = fair_window
            bids, asks = self._bid[2 * lo : 2 * hi], ask[2 * lo : 2 * hi]
            quoted = (bids > 0) & (asks > bids) & (asks < NO_ASK)
            strikes = chain.strike[2 * lo : 2 * hi]
            intrinsic = np.where(chain.is_call[2 * lo : 2 * hi], forward - strikes, strikes - forward)
            fair = np.repeat(otm_fair, 2) + np.maximum(intrinsic, 0.0) * discount
            unit = (asks - bids) / 2.0 + TICK / 2.0
            residual = ((bids + asks) / 2.0 - fair)[quoted] / unit[quoted]
            if residual.size:
                self._scale = max(1.4826 * fast_median(np.abs(residual)), 0.5)

    def fair(self, row: int) -> float:
        strike = float(self._chain.strike[row])
        intrinsic = (self._forward - strike) if self._chain.is_call[row] else (strike - self._forward)
        value = max(intrinsic, 0.0) * self._discount
        if self._window is not None:
            lo, hi, otm_fair = self._window
            index = row // 2
            if lo <= index < hi:
                value += float(otm_fair[index - lo])
        return value

    def _unit(self, row: int) -> float:
        bid, ask = float(self._bid[row]), float(self._ask[row])
        ask = ask if ask < NO_ASK else bid + TICK
        return abs(ask - bid) / 2.0 + TICK / 2.0

    def culprit(self, legs: tuple[LegSpec, ...]) -> int:
        """The leg whose price is furthest on the wrong side of fair value, in half-spreads:
        a sold leg's bid above it, a bought leg's ask below it."""

        def mispricing(leg: LegSpec) -> float:
            fair = self.fair(leg.index)
            if leg.action is LegAction.BUY:
                return (fair - float(self._ask[leg.index])) / self._unit(leg.index)
            return (float(self._bid[leg.index]) - fair) / self._unit(leg.index)

        return max(legs, key=mispricing).index

    def score(self, row: int) -> float:
        """Robust z of the quote's mid against fair value (0 outside the smile window)."""
        if self._window is None or not (self._window[0] <= row // 2 < self._window[1]):
            return 0.0
        bid, ask = float(self._bid[row]), float(self._ask[row])
        if not (bid > 0 and bid < ask < NO_ASK):
            return 0.0
        residual = ((bid + ask) / 2.0 - self.fair(row)) / self._unit(row)
        return abs(residual) / self._scale


def _smile_outliers(
    chain: ChainArrays,
    p: ScanParams,
    window: tuple[int, int, NDArray[np.bool_], NDArray[np.bool_]],
    b_w: FloatArray,
    a_w: FloatArray,
    fair_w: FloatArray,
    rich: FloatArray,
    cheap: FloatArray,
    off_by: FloatArray,
) -> list[_Candidate]:
    """IV outliers and stale quotes in the smile window (runs only when a quote is off fair)."""
    lo, hi, side_w, valid = window
    quoted = (b_w > 0) & (a_w > b_w) & (a_w < NO_ASK)
    a_safe = np.where(quoted, a_w, b_w + TICK)
    unit = (a_safe - b_w) * 0.5 + TICK / 2.0
    residual = ((b_w + a_safe) * 0.5 - fair_w) / unit
    otm_residual = np.abs(np.where(side_w, residual[:, 0], residual[:, 1])[valid])
    scale = max(1.4826 * fast_median(otm_residual), 0.5)
    off = quoted & (np.abs(residual) >= p.iv_zscore * scale)
    tradable = off & (off_by * MULTIPLIER - p.fee >= p.min_edge)
    age = chain.ts_ns - chain.quote_ts_ns[2 * lo : 2 * hi].reshape(hi - lo, 2)
    old = age >= p.stale_after_ns
    flagged = old & off & (off_by > STALE_MIN_OFFSET)
    found: list[_Candidate] = []
    for j, side in np.argwhere(tradable | flagged):
        row = 2 * (lo + int(j)) + int(side)
        rule = AnomalyKind.STALE_QUOTE if old[j, side] else AnomalyKind.IV_OUTLIER
        if rule not in p.enabled:
            continue
        edge = float(off_by[j, side]) * MULTIPLIER - p.fee
        if tradable[j, side]:
            leg = _sell(row) if rich[j, side] >= cheap[j, side] else _buy(row)
            found.append((rule, edge, (leg,), row))
        else:
            found.append((rule, edge, (), row))
    return found


def pair_chain(chain: ChainArrays) -> tuple[ChainArrays, NDArray[np.int64]]:
    """A chain with a call and a put at every strike (a missing side gets no bid and no ask).

    Returns the paired chain and, for each of its rows, the row of the input it came from
    (-1 for filled-in rows), so findings can be mapped back.
    """
    strikes = np.unique(chain.strike)
    n = strikes.size
    source = np.full(2 * n, -1, dtype=np.int64)
    slot = 2 * np.searchsorted(strikes, chain.strike) + (~chain.is_call).astype(np.int64)
    source[slot] = np.arange(len(chain))

    def spread(values: NDArray[np.generic], fill: float | int) -> NDArray[np.generic]:
        out = np.full(2 * n, fill, dtype=values.dtype)
        out[slot] = values
        return out

    paired = ChainArrays(
        ts=chain.ts,
        underlying=chain.underlying,
        expiry=chain.expiry,
        spot_bid=chain.spot_bid,
        spot_ask=chain.spot_ask,
        strike=np.repeat(strikes, 2),
        is_call=np.tile(np.array([True, False]), n),
        bid=spread(chain.bid, 0.0),  # type: ignore[arg-type]
        ask=spread(chain.ask, 0.0),  # type: ignore[arg-type]
        bid_size=spread(chain.bid_size, 0),  # type: ignore[arg-type]
        ask_size=spread(chain.ask_size, 0),  # type: ignore[arg-type]
        quote_ts_ns=spread(chain.quote_ts_ns, chain.ts_ns),  # type: ignore[arg-type]
    )
    return paired, source


def scan_chain(chain: ChainArrays, params: ScanParams) -> list[Finding]:
    """All findings in one snapshot, at most one per culprit, indices into ``chain``'s rows."""
    if len(chain) == 0:
        return []
    if chain.paired:
        return _scan_paired(chain, params)
    paired, source = pair_chain(chain)
    findings = _scan_paired(paired, params)
    mapped: list[Finding] = []
    for f in findings:
        if source[f.culprit] < 0 or any(source[leg.index] < 0 for leg in f.legs):
            continue
        legs = tuple(LegSpec(int(source[leg.index]), leg.action, leg.ratio) for leg in f.legs)
        mapped.append(Finding(int(source[f.culprit]), f.rule, f.edge, f.score, legs))
    return mapped


@lru_cache(maxsize=64)
def _close_ns(expiry: dt.date) -> int:
    return to_epoch_ns(expiry_close(expiry))


def _scan_paired(chain: ChainArrays, p: ScanParams) -> list[Finding]:
    fee, min_edge = p.fee, p.min_edge
    enabled = p.enabled
    bid = chain.bid
    raw_ask = chain.ask
    ask = np.where(raw_ask > 0.0, raw_ask, NO_ASK)  # an ask of 0 means nothing offered
    n = bid.shape[0] // 2
    bids = bid.reshape(n, 2)  # column 0 calls, column 1 puts: views, no copies
    asks = ask.reshape(n, 2)
    strike = chain.strike[0::2]
    cb, pb, ca, pa = bids[:, 0], bids[:, 1], asks[:, 0], asks[:, 1]
    ts_ns = chain.ts_ns
    candidates: list[_Candidate] = []

    # --- executable static arbitrage between neighbouring strikes --------------------------
    gap = strike[1:] - strike[:-1]
    if n >= 2 and AnomalyKind.VERTICAL_SPREAD in enabled:
        need = (min_edge + 2 * fee) / MULTIPLIER
        # up[i]: sell the upper strike at its bid, buy the lower at its ask. For calls that
        # pays outright (calls fall with the strike); for puts it can cost up to the gap.
        # down[i]: sell the lower, buy the upper: outright for puts, up to the gap for calls.
        up = bids[1:] - asks[:-1]
        up[:, 1] -= gap
        down = bids[:-1] - asks[1:]
        down[:, 0] -= gap
        for spread, sell_upper in ((up, True), (down, False)):
            if spread.max() >= need:
                for i, side in np.argwhere(spread >= need):
                    lower, upper = 2 * int(i) + int(side), 2 * (int(i) + 1) + int(side)
                    sold, bought = (upper, lower) if sell_upper else (lower, upper)
                    edge = float(spread[i, side]) * MULTIPLIER - 2 * fee
                    pair_legs = (_sell(sold), _buy(bought))
                    candidates.append((AnomalyKind.VERTICAL_SPREAD, edge, pair_legs, pair_legs))

    if n >= 3 and AnomalyKind.BUTTERFLY in enabled:
        # Price is convex in strike: sell the body at its bid, buy the wings at their asks.
        if gap.min() == gap.max():
            fly = 2.0 * bids[1:-1] - asks[:-2] - asks[2:]
            fly -= (min_edge + 4 * fee) / MULTIPLIER
            left_w = right_w = body_w = None
        else:
            gap_cents = np.rint(gap * 100.0).astype(np.int64)
            common = np.gcd(gap_cents[1:], gap_cents[:-1])
            left_w, right_w = gap_cents[1:] // common, gap_cents[:-1] // common
            body_w = left_w + right_w
            fly = body_w[:, None] * bids[1:-1] - left_w[:, None] * asks[:-2] - right_w[:, None] * asks[2:]
            fly -= ((min_edge + 2 * body_w * fee) / MULTIPLIER)[:, None]
            fly[body_w > 10] = -np.inf  # a leg ratio above 10 is not an order we can send
        if fly.max() >= 0:
            for j, side in np.argwhere(fly >= 0):
                i, side = int(j) + 1, int(side)
                lw, rw, bw = 1, 1, 2
                if body_w is not None and left_w is not None and right_w is not None:
                    lw, rw, bw = int(left_w[j]), int(right_w[j]), int(body_w[j])
                legs = (_buy(2 * (i - 1) + side, lw), _sell(2 * i + side, bw), _buy(2 * (i + 1) + side, rw))
                edge = float(fly[j, side]) * MULTIPLIER + min_edge
                candidates.append((AnomalyKind.BUTTERFLY, edge, legs, legs))

    # --- implied forward (Cboe-style, from the strikes around spot) -----------------------
    spot = 0.5 * (chain.spot_bid + chain.spot_ask)
    years = max(_close_ns(chain.expiry) - ts_ns, 0) / 1e9 / TRADING_SECONDS_PER_YEAR
    discount = math.exp(-RISK_FREE_RATE * years)
    center = int(np.searchsorted(strike, spot))
    lo_f, hi_f = max(center - FORWARD_STRIKES, 0), min(center + FORWARD_STRIKES, n)
    near_b, near_a = bids[lo_f:hi_f], asks[lo_f:hi_f]
    synthetic = strike[lo_f:hi_f] + (near_a[:, 0] + near_b[:, 0] - near_a[:, 1] - near_b[:, 1]) / (
        2.0 * discount
    )
    # A strike speaks for the forward when both sides have an ask: C - P then lies within
    # [cb - pa, ca - pb] (a missing bid is 0, an option is worth no less). Requiring bids on
    # both sides instead would leave a steep 0DTE smile one or two strikes, and a single
    # rich quote among them would drag the forward (and the parity reference) onto itself.
    usable = (near_b >= 0).all(axis=1) & (near_b < near_a).all(axis=1) & (near_a < NO_ASK).all(axis=1)
    forward = fast_median(synthetic[usable]) if usable.any() else spot / discount

    # --- put-call parity: a box against the strike that agrees best with the forward -------
    # Runs before the smile fit: a strike out of parity holds a quote that is out of line,
    # so it is judged against the smile of the other strikes, not allowed to shape it.
    out_of_parity: NDArray[np.bool_] | None = None
    if AnomalyKind.PARITY in enabled and usable.any():
        disagreement = np.abs(synthetic - forward) + (near_a - near_b).sum(axis=1) / 2.0
        ref = lo_f + int(np.argmin(np.where(usable, disagreement, np.inf)))
        payoff = strike[ref] - strike  # of a long synthetic here against a short one at ref
        # Discount what we receive, not what we owe (early exercise can make us pay any time):
        # conservatively, knock (1 - D) of the payoff off both directions.
        haircut = np.abs(payoff) * (1.0 - discount)
        box_long = payoff - haircut - (ca - pb) + (cb[ref] - pa[ref])
        box_short = -payoff - haircut + (cb - pa) - (ca[ref] - pb[ref])
        need = (min_edge + 4 * fee) / MULTIPLIER
        out_of_parity = np.maximum(box_long, box_short) >= need
        out_of_parity[ref] = False  # a box against itself is no trade
        if out_of_parity.any():
            for box_row in np.flatnonzero(out_of_parity):
                i = int(box_row)
                c, q, rc, rq = 2 * i, 2 * i + 1, 2 * ref, 2 * ref + 1
                box_legs: tuple[LegSpec, ...]
                if box_long[i] >= box_short[i]:
                    box_legs = (_buy(c), _sell(q), _sell(rc), _buy(rq))
                    box = float(box_long[i])
                else:
                    box_legs = (_sell(c), _buy(q), _buy(rc), _sell(rq))
                    box = float(box_short[i])
                # The reference agrees best with the forward, so the quote out of line is
                # the call or the put at this strike; the reference's legs are the hedge.
                candidates.append((AnomalyKind.PARITY, box * MULTIPLIER - 4 * fee, box_legs, box_legs[:2]))

    # --- the smile: normal implied vols of out-of-the-money mids, robust fit, fair values ---
    # Only the strikes whose out-of-the-money side has a bid carry information; the rest
    # are worth their intrinsic value (fair value 0 out of the money).
    fair_window: tuple[int, int, FloatArray] | None = None
    # The window is the run of strikes around the forward whose out-of-the-money side has a
    # bid, up to two missing bids in a row: a lone bid beyond that is not smile information
    # (it may be the anomaly itself), while one missing bid inside the run is a quote to judge.
    no_bid = np.where(strike >= forward, cb, pb) <= 0
    pairs = np.flatnonzero(no_bid[:-1] & no_bid[1:])
    atm = int(np.searchsorted(strike, forward))
    left = int(np.searchsorted(pairs, atm - 1))
    right = int(np.searchsorted(pairs, atm))
    lo = int(pairs[left - 1]) + 2 if left > 0 else 0
    hi = int(pairs[right]) if right < pairs.size else n
    if hi - lo >= MIN_FIT_POINTS:
        k_w = strike[lo:hi]
        b_w, a_w = bids[lo:hi], asks[lo:hi]
        side_w = k_w >= forward
        ob = np.where(side_w, b_w[:, 0], b_w[:, 1])
        oa = np.where(side_w, a_w[:, 0], a_w[:, 1])
        valid = (ob > 0) & (oa > ob) & (oa < NO_ASK)
        if out_of_parity is not None:
            valid &= ~out_of_parity[lo:hi]
        n_valid = int(np.count_nonzero(valid))
        if n_valid >= MIN_FIT_POINTS:
            ob, oa = ob[valid], oa[valid]
            mid = (ob + oa) * (0.5 / discount)
            distance = np.abs(k_w - forward)
            fit_distance = distance[valid]
            vol = normal_total_vol(fit_distance, 2.0 * mid + fit_distance)
            atm_vol = float(vol[int(np.argmin(fit_distance))])
            # A quote's uncertainty in vol: its half-spread over the option's vega.
            unc = ((oa - ob) * (0.5 / discount) + TICK / 2.0) / np.maximum(
                normal_pdf(fit_distance / vol), 1e-3
            )
            powers = _POWERS[min(FIT_DEGREE, n_valid - 2)]
            basis = ((k_w - forward) / atm_vol)[:, None] ** powers
            with np.errstate(all="ignore"):
                coefficients = robust_polyfit(basis[valid], vol, 1.0 / (unc * unc), unc)
                fitted = np.maximum(basis @ coefficients, 1e-9)
            if np.isfinite(fitted).all():
                otm_fair = otm_price(distance, fitted) * discount
                fair_window = (lo, hi, otm_fair)
                if AnomalyKind.IV_OUTLIER in enabled or AnomalyKind.STALE_QUOTE in enabled:
                    intrinsic = (forward - k_w) * discount
                    fair_w = np.empty((hi - lo, 2))
                    fair_w[:, 0] = otm_fair + np.maximum(intrinsic, 0.0)
                    fair_w[:, 1] = otm_fair + np.maximum(-intrinsic, 0.0)
                    rich = b_w - fair_w
                    cheap = fair_w - a_w
                    off_by = np.maximum(rich, cheap)  # > 0: fair value lies outside the quote
                    if off_by.max() > min(STALE_MIN_OFFSET, (min_edge + fee) / MULTIPLIER):
                        candidates.extend(
                            _smile_outliers(
                                chain, p, (lo, hi, side_w, valid), b_w, a_w, fair_w, rich, cheap, off_by
                            )
                        )

    # --- quote quality ------------------------------------------------------------------------
    if AnomalyKind.CROSSED_QUOTE in enabled:
        through = bid - ask
        if through.max() >= 0:
            for crossed_row in np.flatnonzero((through >= 0) & (bid > 0)):
                row = int(crossed_row)
                edge = float(through[row]) * MULTIPLIER - 2 * fee
                pair: tuple[LegSpec, ...] = (_buy(row), _sell(row)) if edge >= min_edge else ()
                candidates.append((AnomalyKind.CROSSED_QUOTE, edge, pair, row))

    if AnomalyKind.SPREAD_BLOWOUT in enabled:
        width = raw_ask - bid
        ratio = p.max_spread_ratio / 2.0
        # width > ratio * mid  <=>  ask * (1 - ratio/2) - bid * (1 + ratio/2) > 0
        excess = np.minimum(width - BLOWOUT_MIN_WIDTH + 1e-9, raw_ask * (1.0 - ratio) - bid * (1.0 + ratio))
        if excess.max() > 0:
            for blown_row in np.flatnonzero(excess > 0):
                row = int(blown_row)
                candidates.append(
                    (AnomalyKind.SPREAD_BLOWOUT, -float(width[row]) * MULTIPLIER / 2 - fee, (), row)
                )

    if not candidates:
        return []
    return _resolve(candidates, chain, p, bid, ask, forward, discount, fair_window)


def _resolve(
    candidates: list[_Candidate],
    chain: ChainArrays,
    p: ScanParams,
    bid: FloatArray,
    ask: FloatArray,
    forward: float,
    discount: float,
    fair_window: tuple[int, int, FloatArray] | None,
) -> list[Finding]:
    """Name a culprit and a score for each candidate and keep one finding per culprit."""
    context = _Context(chain, ask, forward, discount, fair_window)
    best: dict[int, Finding] = {}
    for rule, edge_value, legs, suspects in candidates:
        culprit = suspects if isinstance(suspects, int) else context.culprit(suspects)
        if rule is AnomalyKind.SPREAD_BLOWOUT:
            mid = max(0.5 * float(chain.ask[culprit] + bid[culprit]), TICK)
            score = float(chain.ask[culprit] - bid[culprit]) / mid / p.max_spread_ratio
        elif rule is AnomalyKind.CROSSED_QUOTE:
            score = float((bid[culprit] - ask[culprit]) / TICK) + 1.0
        else:
            score = context.score(culprit)
        finding = Finding(culprit, rule, round(edge_value, 4), round(score, 4), legs)
        current = best.get(culprit)
        if current is None or _rank(finding) < _rank(current):
            best[culprit] = finding
    return [best[k] for k in sorted(best)]


def _rank(finding: Finding) -> tuple[int, int, float]:
    return (0 if finding.tradable else 1, _PRIORITY[finding.rule], -finding.edge)
