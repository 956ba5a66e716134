"""Read an aiohttp request's JSON body into a pydantic model, or answer 400 naming what is wrong.

One shape of error for every small JSON API of ours (the gateway simulator's control API, the
Azure simulator's): ``{"error": ..., "problems": [{"field": ..., "error": ...}]}``.
"""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _bad_request(body: dict[str, object]) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")


async def read_model(request: web.Request, model: type[ModelT], *, empty_is_defaults: bool = False) -> ModelT:
    """The body as ``model``; with ``empty_is_defaults`` an empty body means every field's default."""
    raw = await request.read()
    data: object
    if empty_is_defaults and not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _bad_request(
                {"error": f"body is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"}
            ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "<body>", "error": err["msg"]}
            for err in exc.errors()
        ]
        raise _bad_request({"error": "invalid request body", "problems": problems}) from exc
