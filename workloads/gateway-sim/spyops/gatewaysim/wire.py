"""TWS API framing: 4-byte big-endian length prefix, NUL-terminated text fields.

Incoming bytes go through ``FrameBuffer`` (incremental, bounded); a frame's fields are
read with ``FieldReader``, whose typed getters raise ``MalformedMessageError`` naming the
field that was wrong. Outgoing messages are built with ``encode``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from typing import Final

from spyops.gatewaysim.protocol import HANDSHAKE_PREFIX

_LEN = struct.Struct(">I")
# IB's own limit is 0xFFFFFF; a client request is never near that. Anything larger than
# this is either an attack or garbage and cannot be resynchronised.
DEFAULT_MAX_FRAME: Final = 1 << 20
UNSET_INT: Final = 2**31 - 1
UNSET_DOUBLE: Final = 1.7976931348623157e308


class ProtocolViolationError(Exception):
    """The byte stream cannot be trusted any more (bad handshake, oversized frame)."""


class MalformedMessageError(ValueError):
    """A well-framed message whose fields do not fit the expected layout."""

    def __init__(self, message: str, *, msg_id: int | None = None, req_id: int | None = None) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.req_id = req_id


def frame(payload: bytes) -> bytes:
    return _LEN.pack(len(payload)) + payload


def field_text(value: object) -> str:
    """One field as TWS writes it: bools as 0/1, unset numbers as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value == UNSET_DOUBLE or math.isnan(value):
            return ""
        if value == math.inf:
            return "Infinite"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return "" if value == UNSET_INT else str(value)
    return str(value)


def encode(fields: Iterable[object]) -> bytes:
    """A complete frame (length prefix included) for the given fields."""
    text = [f if type(f) is str else field_text(f) for f in fields]
    text.append("")
    payload = "\0".join(text).encode()
    return _LEN.pack(len(payload)) + payload


def encode_text_fields(fields: Sequence[str]) -> bytes:
    """Fast path for fields that are already text."""
    payload = ("\0".join(fields) + "\0").encode()
    return _LEN.pack(len(payload)) + payload


class FrameBuffer:
    """Splits the incoming byte stream into frames; handles the API handshake prefix.

    The first bytes of a connection must be ``API\\0`` followed by one length-prefixed
    frame with the client's version range. ``feed`` returns complete frames' payloads.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame
        self._prefix_seen = False
        self._violation: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Complete frames so far. Once the stream is unusable, the frames before the bad
        part are still returned and ``check`` (or the next feed) raises."""
        self.check()
        self._buffer += data
        if not self._prefix_seen:
            if len(self._buffer) < len(HANDSHAKE_PREFIX):
                if not HANDSHAKE_PREFIX.startswith(bytes(self._buffer)):
                    raise ProtocolViolationError("connection did not start with the API\\0 handshake prefix")
                return []
            if bytes(self._buffer[: len(HANDSHAKE_PREFIX)]) != HANDSHAKE_PREFIX:
                raise ProtocolViolationError("connection did not start with the API\\0 handshake prefix")
            del self._buffer[: len(HANDSHAKE_PREFIX)]
            self._prefix_seen = True
        frames: list[bytes] = []
        buffer = self._buffer
        while len(buffer) >= 4:
            (length,) = _LEN.unpack_from(buffer, 0)
            if length > self._max_frame:
                # Frames before the bad one are still delivered; ``check`` then raises.
                self._violation = f"frame of {length} bytes exceeds the limit of {self._max_frame}"
                break
            if len(buffer) < 4 + length:
                break
            frames.append(bytes(buffer[4 : 4 + length]))
            del buffer[: 4 + length]
        return frames

    def check(self) -> None:
        if self._violation is not None:
            raise ProtocolViolationError(self._violation)


def split_fields(payload: bytes) -> list[str]:
    """Text fields of one frame. Every field is NUL-terminated, so the last split is empty."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessageError(f"message is not UTF-8 text (byte {exc.start})") from exc
    if not text.endswith("\0"):
        raise MalformedMessageError("message does not end with a field terminator")
    return text[:-1].split("\0")


class FieldReader:
    """Sequential, typed access to a message's fields; errors name the field."""

    __slots__ = ("_fields", "_pos", "msg_id", "req_id")

    def __init__(self, fields: Sequence[str], msg_id: int) -> None:
        self._fields = fields
        self._pos = 1  # field 0 is the message id
        self.msg_id = msg_id
        self.req_id: int | None = None

    def _next(self, name: str) -> str:
        if self._pos >= len(self._fields):
            raise MalformedMessageError(
                f"message {self.msg_id} is truncated: field '{name}' (#{self._pos}) is missing",
                msg_id=self.msg_id,
                req_id=self.req_id,
            )
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def _fail(self, name: str, value: str, expected: str) -> MalformedMessageError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        return MalformedMessageError(
            f"message {self.msg_id}: field '{name}' (#{self._pos - 1}) must be {expected}, got {shown!r}",
            msg_id=self.msg_id,
            req_id=self.req_id,
        )

    def text(self, name: str) -> str:
        return self._next(name)

    def integer(self, name: str, *, default: int | None = None) -> int:
        value = self._next(name)
        if value == "" and default is not None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise self._fail(name, value, "an integer") from None
        if not -(2**63) <= number < 2**63:
            raise self._fail(name, value, "a 64-bit integer")
        return number

    def number(self, name: str, *, default: float | None = None) -> float:
        value = self._next(name)
        if value == "" and default is not None:
            return default
        if value == "Infinite":
            return math.inf
        try:
            number = float(value)
        except ValueError:
            raise self._fail(name, value, "a number") from None
        if math.isnan(number):
            raise self._fail(name, value, "a number")
        return number

    def flag(self, name: str) -> bool:
        value = self._next(name)
        if value in ("", "0"):
            return False
        if value == "1":
            return True
        try:
            return int(value) != 0
        except ValueError:
            raise self._fail(name, value, "0 or 1") from None

    def skip(self, count: int, name: str) -> None:
        for index in range(count):
            self._next(f"{name}[{index}]")

    def count(self, name: str, *, limit: int) -> int:
        number = self.integer(name, default=0)
        if not 0 <= number <= limit:
            raise self._fail(name, str(number), f"a count between 0 and {limit}")
        return number

    @property
    def remaining(self) -> int:
        return len(self._fields) - self._pos
