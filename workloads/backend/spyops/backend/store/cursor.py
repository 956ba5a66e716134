"""Opaque pagination cursors: the sort key of the last item of a page, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json

from spyops.backend.store.base import InvalidCursorError


def encode_cursor(kind: str, key: list[str | int]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, shape: tuple[type, ...]) -> list[str | int]:
    """Return the key parts, checking the cursor was issued for ``kind`` with parts of types ``shape``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursorError("cursor is not one this API issued") from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != len(shape) + 1
        or decoded[0] != kind
        or not all(type(part) is expected for part, expected in zip(decoded[1:], shape, strict=True))
    ):
        raise InvalidCursorError(f"cursor is not one this API issued for {kind}")
    return list(decoded[1:])
