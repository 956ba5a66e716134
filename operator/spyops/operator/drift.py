"""Is a live object already what we would apply? A semantic subset test, so unchanged children
are not re-applied on every event (the API server fills defaults, so live has more keys)."""

from __future__ import annotations

from typing import Any


def _scalar_equal(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return float(desired) == float(live)
    return bool(desired == live)


def _is_zero(value: Any) -> bool:
    # The API server drops `omitempty` fields that hold their zero value (a false
    # bool, an empty list), so "absent" in live means the same as these.
    return value is False or value is None or value == "" or value == [] or value == {}


def contains(desired: Any, live: Any) -> bool:
    """True when every field of ``desired`` is in ``live`` with the same value (lists: same length, in order)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(
            contains(value, live[key]) if key in live else _is_zero(value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(contains(d, item) for d, item in zip(desired, live, strict=True))
    return _scalar_equal(desired, live)


def child_up_to_date(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """Whether applying ``desired`` would change nothing we own in ``live``."""
    if live is None or live.get("metadata", {}).get("deletionTimestamp"):
        return False
    return contains({k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}, live)
