"""The seed design's rule, kept as the baseline the benchmark compares against.

Sort each right's quotes by strike and flag a pair of neighbouring strikes whose mid prices
differ by more than a threshold. A flag names a pair, not a culprit: one quote out of line
moves both jumps next to it, and the rule cannot tell which contract of a pair is wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from spyops.market.chain import ChainArrays

C = TypeVar("C", bound=Hashable)


def seed_rule_pairs(chain: ChainArrays, threshold: float) -> NDArray[np.int64]:
    """Row indices (into ``chain``) of every flagged neighbouring pair, shape (pairs, 2)."""
    pairs: list[NDArray[np.int64]] = []
    mid = (chain.bid + chain.ask) / 2.0
    for rows in (np.flatnonzero(chain.is_call), np.flatnonzero(~chain.is_call)):
        ordered = rows[np.argsort(chain.strike[rows], kind="stable")]
        jumps = np.flatnonzero(np.abs(np.diff(mid[ordered])) > threshold)
        pairs.append(np.stack([ordered[jumps], ordered[jumps + 1]], axis=1))
    return np.concatenate(pairs).astype(np.int64)


def seed_rule_flags(chain: ChainArrays, threshold: float) -> NDArray[np.int64]:
    """Row indices (into ``chain``) of every contract in a flagged neighbouring pair."""
    return np.unique(seed_rule_pairs(chain, threshold))


def best_culprits(pairs: Iterable[tuple[C, C]], labeled: set[C]) -> set[C]:
    """The rule's findings with the best culprit choice for it, as a benchmark scores them.

    A pair with a labeled contract names that contract (an oracle choice: the most favourable
    there is). A pair without one names a contract already named, if it has one (the same bad
    quote seen from both sides), else the contract shared with most other flagged pairs, so one
    distorted quote that moves both of its neighbouring jumps counts once.
    """
    pairs = list(pairs)
    chosen: set[C] = set()
    for left, right in pairs:
        chosen.update(c for c in (left, right) if c in labeled)
    degree = Counter(c for pair in pairs for c in pair)
    for left, right in pairs:
        if left in chosen or right in chosen:
            continue
        chosen.add(right if degree[right] > degree[left] else left)
    return chosen
