"""The seed design's rule, kept as the baseline the benchmark compares against.

Sort each right's quotes by strike and flag a pair of neighbouring strikes whose mid prices
differ by more than a threshold. A flag names a pair, so both contracts are reported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spyops.market.chain import ChainArrays


def seed_rule_flags(chain: ChainArrays, threshold: float) -> NDArray[np.int64]:
    """Row indices (into ``chain``) of every contract in a flagged neighbouring pair."""
    flagged: list[NDArray[np.int64]] = []
    mid = (chain.bid + chain.ask) / 2.0
    for rows in (np.flatnonzero(chain.is_call), np.flatnonzero(~chain.is_call)):
        ordered = rows[np.argsort(chain.strike[rows], kind="stable")]
        jumps = np.flatnonzero(np.abs(np.diff(mid[ordered])) > threshold)
        flagged.append(ordered[jumps])
        flagged.append(ordered[jumps + 1])
    return np.unique(np.concatenate(flagged))
