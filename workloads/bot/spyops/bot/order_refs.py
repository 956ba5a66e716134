"""Deterministic order references: the idempotency key between the bot and the gateway.

Shape: ``<strategy tag>-<signal id>-<leg>``, e.g. ``3fa9c-0123...cdef-1`` (40 chars at most).

- The strategy tag (5 hex chars of a hash of ``namespace/name``) keeps strategies that
  share an account apart.
- The signal id is carried in full, so any replica can map an order it finds at the
  gateway back to its signal without sharing the journal of the replica that sent it.
- The leg index (0-9) makes each leg of a multi-leg signal its own order.

IB appends ``:n`` to ``Execution.orderRef``; :func:`normalize` strips it. Our references
never contain a colon, so everything from the first colon on is IB's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_LEN = 40
_REF = re.compile(r"^([0-9a-f]{5})-([0-9a-f]{32})-([0-9])$")


def strategy_tag(strategy: str) -> str:
    return hashlib.blake2b(strategy.encode(), digest_size=8).hexdigest()[:5]


def order_ref(strategy: str, signal_id: str, leg: int) -> str:
    """The orderRef of leg ``leg`` of signal ``signal_id`` for ``strategy``."""
    if not 0 <= leg <= 9:
        raise ValueError(f"leg index must be 0..9, got {leg}")
    if not re.fullmatch(r"[0-9a-f]{32}", signal_id):
        raise ValueError(f"signal id must be 32 lowercase hex characters, got {signal_id!r}")
    return f"{strategy_tag(strategy)}-{signal_id}-{leg}"


def normalize(ref: str) -> str:
    """The reference as we sent it: IB's ``:n`` suffix on executions removed."""
    return ref.split(":", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class ParsedRef:
    tag: str
    signal_id: str
    leg: int


def parse(ref: str) -> ParsedRef | None:
    """Split a (possibly suffixed) reference; None when it is not one of ours."""
    match = _REF.match(normalize(ref))
    if match is None:
        return None
    return ParsedRef(tag=match.group(1), signal_id=match.group(2), leg=int(match.group(3)))


def belongs_to(ref: str, strategy: str) -> bool:
    parsed = parse(ref)
    return parsed is not None and parsed.tag == strategy_tag(strategy)
