"""Which option contracts to stream: the strikes nearest the money that fit the line budget.

Pure functions. IB counts one market-data line per streamed contract (100 by default);
the underlying takes one, and every strike watched costs two (its call and its put), so
the window is ``min(2 * strike_window + 1, (budget - 1) // 2)`` strikes around the money.

The window is centred on the listed strike nearest the underlying and only moves when
the underlying's nearest strike is ``recenter_after`` strikes or more away from the
current centre (hysteresis: a spot oscillating around a half strike never churns
subscriptions). A move changes only the contracts at the window's edges.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

# Lines the underlying's own subscription takes.
UNDERLYING_LINES = 1
DEFAULT_RECENTER_AFTER = 2


@dataclass(frozen=True, slots=True, order=True)
class OptionKey:
    """One option of the watched expiry: strike and right (True for a call)."""

    strike: float
    is_call: bool


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """The strikes to watch, by index into the listed strikes, and the contracts that makes."""

    center: int  # index of the centre strike in the listed strikes
    lo: int  # first watched index
    hi: int  # one past the last watched index
    strikes: tuple[float, ...]

    @property
    def contracts(self) -> frozenset[OptionKey]:
        return frozenset(OptionKey(k, call) for k in self.strikes for call in (True, False))

    @property
    def lines(self) -> int:
        """Market-data lines this plan uses, the underlying included."""
        return UNDERLYING_LINES + 2 * len(self.strikes)


@dataclass(frozen=True, slots=True)
class PlanChange:
    """What to cancel and what to request to go from one plan to the next (cancels first)."""

    cancel: tuple[OptionKey, ...]
    request: tuple[OptionKey, ...]

    @property
    def empty(self) -> bool:
        return not self.cancel and not self.request


def window_size(listed: int, max_lines: int, strike_window: int) -> int:
    """Strikes that fit: the configured window, the line budget and the listed strikes."""
    if max_lines < UNDERLYING_LINES + 2:
        raise ValueError(f"max_market_data_lines={max_lines} leaves no line for an option")
    if strike_window < 0:
        raise ValueError(f"strike_window={strike_window} must not be negative")
    by_budget = (max_lines - UNDERLYING_LINES) // 2
    return max(0, min(2 * strike_window + 1, by_budget, listed))


def nearest_index(strikes: Sequence[float], spot: float) -> int:
    """Index of the listed strike nearest ``spot`` (the lower one on an exact tie)."""
    if not strikes:
        raise ValueError("no listed strikes")
    i = bisect.bisect_left(strikes, spot)
    if i == 0:
        return 0
    if i == len(strikes):
        return len(strikes) - 1
    return i - 1 if spot - strikes[i - 1] <= strikes[i] - spot else i


def plan_subscriptions(
    strikes: Sequence[float],
    spot: float,
    *,
    max_lines: int,
    strike_window: int,
    current: SubscriptionPlan | None = None,
    recenter_after: int = DEFAULT_RECENTER_AFTER,
) -> SubscriptionPlan:
    """The plan for ``spot``; keeps ``current``'s centre unless the money moved far enough.

    ``strikes`` must be sorted ascending and free of duplicates. ``current`` is kept as
    is (same object) when nothing needs to change, so callers can compare by identity.
    """
    if any(b <= a for a, b in itertools.pairwise(strikes)):
        raise ValueError("listed strikes must be sorted ascending without duplicates")
    if recenter_after < 1:
        raise ValueError("recenter_after must be at least 1")
    n = window_size(len(strikes), max_lines, strike_window)
    atm = nearest_index(strikes, spot)
    center = atm
    if (
        current is not None
        and current.hi - current.lo == n
        and current.hi <= len(strikes)
        and tuple(strikes[current.lo : current.hi]) == current.strikes
        and abs(atm - current.center) < recenter_after
    ):
        return current
    lo = min(max(center - (n - 1) // 2, 0), max(len(strikes) - n, 0))
    hi = lo + n
    return SubscriptionPlan(center=center, lo=lo, hi=hi, strikes=tuple(strikes[lo:hi]))


def plan_change(before: frozenset[OptionKey], after: SubscriptionPlan, spot: float) -> PlanChange:
    """Cancels (furthest from the money first) and requests (nearest first) between two sets."""
    wanted = after.contracts
    cancel = sorted(before - wanted, key=lambda k: (-abs(k.strike - spot), k))
    request = sorted(wanted - before, key=lambda k: (abs(k.strike - spot), k))
    return PlanChange(cancel=tuple(cancel), request=tuple(request))
