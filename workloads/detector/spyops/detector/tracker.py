"""From per-snapshot findings to signals: one signal per anomaly episode (hysteresis).

An episode opens when a (culprit, rule, tradable) finding first appears and stays open
while it keeps appearing; it closes after ``clear_after_snapshots`` consecutive snapshots
without it, after which the same anomaly can open a new episode (and a new signal). The
signal id is a digest of underlying, expiry, culprit, rule and the episode's start event
time, so a replay of the same data gives the same ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from spyops.detector.rules import Finding
from spyops.market.chain import ChainArrays, from_epoch_ns
from spyops.schemas import (
    AnomalyKind,
    Leg,
    LegAction,
    OptionContract,
    OptionRight,
    QuoteRef,
    Signal,
    SuggestedOrder,
)

_EpisodeKey = Hashable


def signal_id(contract: OptionContract, rule: AnomalyKind, episode_start: dt.datetime) -> str:
    """32 hex digits identifying one anomaly episode."""
    start = episode_start.astimezone(dt.UTC).isoformat(timespec="microseconds")
    text = "|".join((contract.underlying, contract.expiry.isoformat(), contract.key, rule.value, start))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def contract_at(chain: ChainArrays, index: int) -> OptionContract:
    return OptionContract(
        underlying=chain.underlying,
        expiry=chain.expiry,
        strike=float(chain.strike[index]),
        right=OptionRight.CALL if bool(chain.is_call[index]) else OptionRight.PUT,
    )


def build_signal(
    finding: Finding,
    chain: ChainArrays,
    *,
    episode_start: dt.datetime,
    detected_at: dt.datetime,
    strategy: str = "",
) -> Signal:
    """The wire form of a finding, with the quotes it was computed from and a suggested order."""
    tz = chain.ts.tzinfo
    assert tz is not None
    culprit = contract_at(chain, finding.culprit)
    indices = sorted({finding.culprit, *(leg.index for leg in finding.legs)})
    quotes = tuple(
        QuoteRef(
            contract=contract_at(chain, i),
            bid=float(chain.bid[i]),
            ask=float(chain.ask[i]),
            bid_size=int(chain.bid_size[i]),
            ask_size=int(chain.ask_size[i]),
            quote_ts=from_epoch_ns(int(chain.quote_ts_ns[i]), tz),
        )
        for i in indices
    )
    order = None
    if finding.legs:
        legs = []
        quantity = None
        net = 0.0
        for leg in finding.legs:
            buying = leg.action is LegAction.BUY
            price = float(chain.ask[leg.index] if buying else chain.bid[leg.index])
            available = int(chain.ask_size[leg.index] if buying else chain.bid_size[leg.index]) // leg.ratio
            quantity = available if quantity is None else min(quantity, available)
            net += leg.ratio * (price if buying else -price)
            legs.append(
                Leg(
                    contract=contract_at(chain, leg.index),
                    action=leg.action,
                    ratio=leg.ratio,
                    limit_price=price,
                )
            )
        order = SuggestedOrder(legs=tuple(legs), quantity=max(quantity or 0, 1), net_price=round(net, 4))
    return Signal(
        id=signal_id(culprit, finding.rule, episode_start),
        strategy=strategy,
        event_time=chain.ts,
        detected_at=detected_at,
        underlying=chain.underlying,
        expiry=chain.expiry,
        culprit=culprit,
        rule=finding.rule,
        edge=finding.edge,
        score=finding.score,
        quotes=quotes,
        suggested_order=order,
    )


@dataclass
class _Episode:
    start: dt.datetime
    misses: int = 0


@dataclass(frozen=True, slots=True)
class Emitted:
    """A finding that opened a new episode, with the episode's start time."""

    finding: Finding
    episode_start: dt.datetime


class SignalTracker:
    """Hysteresis across snapshots of one stream (not thread-safe)."""

    def __init__(self, clear_after_snapshots: int = 3) -> None:
        if clear_after_snapshots < 1:
            raise ValueError("clear_after_snapshots must be at least 1")
        self._clear_after = clear_after_snapshots
        self._open: dict[_EpisodeKey, _Episode] = {}

    @property
    def open_episodes(self) -> int:
        return len(self._open)

    def update(self, chain: ChainArrays, findings: list[Finding]) -> list[Emitted]:
        """Feed one snapshot's findings; returns the ones that start a new episode."""
        keyed: dict[Hashable, Finding] = {
            (
                chain.underlying,
                chain.expiry,
                float(chain.strike[f.culprit]),
                bool(chain.is_call[f.culprit]),
                f.rule,
                f.tradable,
            ): f
            for f in findings
        }
        return [Emitted(keyed[key], start) for key, start in self.update_keys(chain.ts, keyed)]

    def update_keys(self, ts: dt.datetime, keys: Iterable[Hashable]) -> list[tuple[Hashable, dt.datetime]]:
        """The same hysteresis for any hashable episode keys; returns (key, start) of new ones."""
        opened: list[tuple[Hashable, dt.datetime]] = []
        seen = set(keys)
        for key in seen:
            episode = self._open.get(key)
            if episode is None:
                self._open[key] = _Episode(start=ts)
                opened.append((key, ts))
            else:
                episode.misses = 0
        for key in [k for k in self._open if k not in seen]:
            episode = self._open[key]
            episode.misses += 1
            if episode.misses >= self._clear_after:
                del self._open[key]
        opened.sort(key=repr)
        return opened
