"""The backend's OpenAPI document: FastAPI's, plus what FastAPI cannot see.

The write endpoints parse their bodies themselves (one record or a batch), so the document gets the
record schemas from the shared models, and the ingest's own limits (``spyops.backend.ingest``:
numbers at most MAX_NUMBER in magnitude, timestamps with an offset in the years EARLIEST..LATEST)
are written into them from the same constants. A client that follows the document is then never
refused, and schemathesis can check that (``tests/backend/test_schemathesis_cli.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from spyops.backend.ingest import EARLIEST, LATEST, MAX_NUMBER

# RFC 3339 date-times whose year, as written, is in EARLIEST.year..LATEST.year-1, with an offset (the
# ingest refuses naive times) and without a leap second (Python has none). Spelled out in full, so
# that a generator that follows the pattern also meets `format: date-time`.
DATE_TIME_PATTERN = (
    r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
if (EARLIEST.year, LATEST.year) != (1970, 2200):
    raise ImportError("DATE_TIME_PATTERN spells the years 1970..2199: make it follow ingest.EARLIEST/LATEST")


def with_ingest_limits(schema: Any) -> Any:
    """A copy of a JSON schema with the ingest's number bounds and timestamp pattern added."""
    if isinstance(schema, list):
        return [with_ingest_limits(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: with_ingest_limits(value) for key, value in schema.items()}
    if out.get("type") in ("number", "integer"):
        if "minimum" not in out and "exclusiveMinimum" not in out:
            out["minimum"] = -MAX_NUMBER
        if "maximum" not in out and "exclusiveMaximum" not in out:
            out["maximum"] = MAX_NUMBER
    if out.get("type") == "string" and out.get("format") == "date-time":
        out["pattern"] = DATE_TIME_PATTERN
    return out


def build_openapi(app: FastAPI, ingest_models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    _, defs = models_json_schema(
        [(m, "validation") for m in ingest_models], ref_template="#/components/schemas/{model}"
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        components[name] = with_ingest_limits(jsonable_encoder(definition))
    schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in schema["paths"].items():
        if "post" in operations and path.startswith("/v1/"):
            operations["post"]["security"] = [{"bearer": []}]
    return schema
