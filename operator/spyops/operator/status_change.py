"""What a status write would change, and whether it may wait (pure).

A rollout moves a strategy's counters (replicas, ready replicas, which workload is ready) and the
messages that quote them several times before it ends; each move was a status write, each write a
new resourceVersion for every watcher of the kind. Those moves are *progress*: written at most every
so often while a rollout lasts. Anything else (a condition's status or reason, the phase, the
observed generation, an address) is *meaningful*: written at once, carrying the progress with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any


class Change(Enum):
    NONE = "none"
    PROGRESS = "progress"
    MEANINGFUL = "meaningful"


def _without_messages(conditions: Any) -> Any:
    if not isinstance(conditions, list):
        return conditions
    return [{k: v for k, v in c.items() if k != "message"} if isinstance(c, dict) else c for c in conditions]


def classify(
    current: dict[str, Any], wanted: dict[str, Any], owned: Sequence[str], progress: Sequence[str]
) -> Change:
    """How ``wanted`` differs from ``current`` in the ``owned`` keys: not at all, only in the
    ``progress`` keys and the conditions' messages, or in something else."""
    changed = [k for k in owned if current.get(k) != wanted.get(k)]
    if not changed:
        return Change.NONE
    for key in changed:
        if key in progress:
            continue
        if key == "conditions" and _without_messages(current.get(key)) == _without_messages(wanted.get(key)):
            continue
        return Change.MEANINGFUL
    return Change.PROGRESS


def progress_delay(last_write: float | None, now: float, interval: float) -> float | None:
    """Seconds a progress-only write must still wait (None: write it now): at most one per
    ``interval`` per object, the first at once."""
    if last_write is None or now - last_write >= interval:
        return None
    return interval - (now - last_write)
