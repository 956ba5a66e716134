"""Parsing write-endpoint bodies: one record or a batch, with errors that name the field at fault.

Beyond the shared schemas, the backend refuses what it could not store or serve back faithfully:
timestamps without a timezone or whose year is outside 1970-2199, and non-finite or absurdly large numbers.
Errors come back in FastAPI's 422 shape: ``{"loc": ["body", <index>, "field", ...], "msg", "type"}``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

M = TypeVar("M", bound=BaseModel)

MAX_BATCH = 1000
MAX_NUMBER = 1e12
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)

Loc = tuple[str | int, ...]


class IngestError(ValueError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def _error(loc: Loc, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


def _finite_number(text: str) -> float | int:
    """A JSON number with a fraction or exponent; an integral one (3.0, 1e2) is an int, as JSON
    Schema's `integer` counts it, so that strict validation below takes it for a count too."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return int(value) if value.is_integer() else value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=_finite_number, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise IngestError([_error((), f"body is not valid JSON: {exc}", "json_invalid")]) from exc


@functools.cache
def _batch_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def parse_records(raw: bytes, model: type[M]) -> list[M]:
    """A JSON object (one record) or array (a batch of 1..MAX_BATCH) of ``model``."""
    data = parse_json(raw)
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list):
        raise IngestError([_error((), "expected a JSON object or an array of objects", "type_error")])
    if not items:
        raise IngestError([_error((), "the batch is empty", "too_short")])
    if len(items) > MAX_BATCH:
        raise IngestError(
            [_error((), f"a batch holds at most {MAX_BATCH} records, got {len(items)}", "too_long")]
        )
    try:
        # pydantic's strict JSON mode: a value must have the JSON type the document gives (lax mode
        # takes `0` for a timestamp, `1.0` for a count). The body was parsed already, to check its
        # shape and numbers first, so it is serialised again for this.
        records = _batch_of(model).validate_json(json.dumps(items), strict=True)
    except ValidationError as exc:
        raise IngestError(
            [
                _error(tuple(err["loc"][1:]) if single else tuple(err["loc"]), err["msg"], err["type"])
                for err in exc.errors(include_url=False)
            ]
        ) from exc
    problems = [
        _error(loc if single else (index, *loc), msg, kind)
        for index, record in enumerate(records)
        for loc, msg, kind in sanity_problems(record)
    ]
    if problems:
        raise IngestError(problems)
    return records


def parse_one(raw: bytes, model: type[M]) -> M:
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise IngestError([_error((), "expected a JSON object", "type_error")])
    try:
        record = model.model_validate_json(json.dumps(data), strict=True)  # strict: see parse_records
    except ValidationError as exc:
        raise IngestError(
            [_error(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors(include_url=False)]
        ) from exc
    problems = [_error(loc, msg, kind) for loc, msg, kind in sanity_problems(record)]
    if problems:
        raise IngestError(problems)
    return record


def sanity_problems(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str, str]]:
    """Walk a validated model for values the backend refuses (see the module docstring)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from sanity_problems(getattr(value, name), (*loc, name))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from sanity_problems(item, (*loc, index))
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            yield loc, "timestamp must carry a timezone (e.g. 2026-11-20T14:30:00Z)", "timezone_aware"
        elif not EARLIEST.year <= value.year < LATEST.year:
            # The year as written (not in UTC), so that the OpenAPI document can state the rule.
            yield loc, f"timestamp year must be {EARLIEST.year}..{LATEST.year - 1}", "datetime_range"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int | float) and not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
        yield loc, f"number must be finite and at most {MAX_NUMBER:g} in magnitude", "number_range"
