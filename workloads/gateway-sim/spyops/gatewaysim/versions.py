"""TWS API server versions: the range the simulator speaks, what changes inside it, the negotiation.

A client opens with ``API\\0`` and its range of versions (``v157..176``, optionally followed by
connect options). Like IB Gateway, the simulator answers with the highest version both sides
support, and from then on lays out every message for that version: a field IB added in a later
version is left out for an older client, and a field IB removed is still sent to a client that
predates the removal.

The range is 157..178: 157 is the oldest version ib_insync (0.9.x) and ib_async (1.x, 2.x) offer
(their ``Client.MinClientVersion``), 178 the newest ib_async 2.x understands (its
``MaxClientVersion``); ib_insync 0.9.86, its last release, stops at 176.

The constants below carry IB's own names (``MIN_SERVER_VER_*`` in the official ``ibapi``
package's ``server_versions.py``) for the versions inside the range that change a message the
simulator sends or reads; the layouts follow the official decoder (``ibapi`` 10.x).
"""

from __future__ import annotations

from typing import Final

MIN_SERVER_VERSION: Final = 157
MAX_SERVER_VERSION: Final = 178

DURATION: Final = 158  # openOrder gains duration
POST_TO_ATS: Final = 160  # openOrder gains postToAts
AUTO_CANCEL_PARENT: Final = 162  # openOrder gains autoCancelParent (completedOrder always had it)
FRACTIONAL_SIZE_SUPPORT: Final = 163  # contractDetails gains sizeMinTick (replaced at 164)
# contractDetails: no leading version field and no mdSizeMultiplier any more; minSize,
# sizeIncrement and suggestedSizeIncrement replace sizeMinTick.
SIZE_RULES: Final = 164
ADVANCED_ORDER_REJECT: Final = 166  # error gains advancedOrderRejectJson
MANUAL_ORDER_TIME: Final = 169  # cancelOrder (a request) gains manualOrderCancelTime
# openOrder and completedOrder gain minTradeQty, minCompeteSize, competeAgainstBestOffset,
# midOffsetAtWhole, midOffsetAtHalf.
PEGBEST_PEGMID_OFFSETS: Final = 170
BOND_ISSUERID: Final = 176  # reqContractDetails (a request) gains issuerId
FA_PROFILE_DESUPPORT: Final = 177  # openOrder, completedOrder and placeOrder (a request) lose faProfile
PENDING_PRICE_REVISION: Final = 178  # execDetails gains pendingPriceRevision


class HandshakeError(ValueError):
    """The client's opening cannot lead to a connection; the message says why."""


def parse_offer(text: str) -> tuple[int, int]:
    """The client's version range from its opening frame: ``v157..176``, ``v176`` (one version)."""
    offer = text.split(" ", 1)[0]
    if not offer.startswith("v"):
        raise HandshakeError(f"handshake {text[:40]!r} does not start with 'v<min>..<max>'")
    low_text, sep, high_text = offer[1:].partition("..")
    try:
        low = int(low_text)
        high = int(high_text) if sep else low
    except ValueError:
        raise HandshakeError(f"bad handshake version range {text[:40]!r}") from None
    if low > high:
        raise HandshakeError(f"handshake version range {low}..{high} is empty")
    return low, high


def negotiate(low: int, high: int) -> int:
    """The highest version both sides support, as IB Gateway picks it."""
    version = min(high, MAX_SERVER_VERSION)
    if version < max(low, MIN_SERVER_VERSION):
        raise HandshakeError(
            f"client versions {low}..{high} do not overlap the simulator's "
            f"{MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}"
        )
    return version
