"""What a validation error must say about the input it refused (shared by the fuzz tests).

pydantic always fills ``msg``, so "there is a message" proves nothing. What a user needs is that the
error points at what they wrote: the path of a value they supplied (and echoes that value), or the
path of a required field they left out, saying it is required.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

_MISSING = object()


def _value_at(data: Any, loc: Sequence[str | int]) -> tuple[Any, tuple[str | int, ...]]:
    """The value at ``loc`` in ``data`` and the part of ``loc`` that exists there.

    pydantic may append a union member's tag (``int``, ``str``) after the last real key; the walk
    stops at the deepest value the input has."""
    current = data
    walked: list[str | int] = []
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if not (in_dict or in_list):
            return _MISSING, tuple(walked)
        current = current[part]
        walked.append(part)
    return current, tuple(walked)


def assert_error_points_at_input(data: Any, error: ErrorDetails) -> None:
    loc = tuple(error["loc"])
    where = ".".join(str(p) for p in loc)
    value, walked = _value_at(data, loc)
    if error["type"] == "missing":
        assert value is _MISSING, f"{where}: reported missing, but the input has {value!r}"
        assert len(walked) == len(loc) - 1, f"{where}: the parent of a missing field must exist in the input"
        assert error["msg"] == "Field required", error
        return
    assert loc, f"an error must name the field it is about, got {error}"
    if value is _MISSING:
        # A union member's tag after the supplied value: the supplied value must be echoed.
        value, _ = _value_at(data, walked)
        assert walked, f"{where}: names no field of the input {data!r}"
    assert error["input"] == value, f"{where}: echoes {error['input']!r}, the input there is {value!r}"
    assert error["msg"].strip(), error
