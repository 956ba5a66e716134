"""Property-based API testing from the OpenAPI document: no input makes the backend answer 5xx.

Schemathesis calls the app in process; each call runs the app's lifespan, so the store is an
in-memory SQLite database opened per call (the property under test is per request).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from spyops.backend.app import create_app
from spyops.backend.store.sqlite import SqliteStore
from tests.backend.conftest import AUTH, TOKEN

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(SqliteStore(":memory:"), TOKEN))


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:500]}"
    )
