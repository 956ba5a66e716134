"""What the schema cannot judge is checked before rendering; what the API server refuses is named."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import Status
from pydantic import ValidationError

from spyops.operator import refusals
from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.reconcile import _spec_error


def _strategy(timezone: str) -> dict[str, Any]:
    return {"gatewayRef": {"name": "gw"}, "risk": {"tradingHours": {"timezone": timezone}}}


def test_a_time_zone_the_tz_database_does_not_know_is_an_error_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        TradingStrategySpec.model_validate(_strategy("America/Nowhere"))
    message = _spec_error(caught.value)
    assert message == (
        "spec.risk.tradingHours.timezone: 'America/Nowhere' is not a time zone of the tz database "
        "(e.g. America/New_York)"
    )

    with pytest.raises(ValidationError) as caught:
        IBKRGatewaySpec.model_validate({"simulator": {}, "restartWindow": {"timezone": "Mars/Olympus"}})
    assert _spec_error(caught.value).startswith("spec.restartWindow.timezone: ")


@pytest.mark.parametrize("timezone", ["America/New_York", "Europe/Madrid", "UTC", "Asia/Kolkata"])
def test_tz_database_names_pass(timezone: str) -> None:
    spec = TradingStrategySpec.model_validate(_strategy(timezone))
    assert spec.risk.trading_hours.timezone == timezone
    gateway = IBKRGatewaySpec.model_validate({"simulator": {}, "restartWindow": {"timezone": timezone}})
    assert gateway.restart_window.timezone == timezone


def _api_error(code: int, reason: str, message: str) -> ApiError:
    return ApiError(status=Status(code=code, reason=reason, message=message))


CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s-config", "namespace": "n"}}


def test_a_refusal_carries_the_api_servers_reason_and_message() -> None:
    quota = 'configmaps "s-config" is forbidden: exceeded quota: q, requested: configmaps=1'
    refusal = refusals.refusal_of(CONFIG_MAP, _api_error(403, "Forbidden", quota))
    assert refusal == refusals.Refusal("ConfigMap", "s-config", 403, "Forbidden", quota)
    invalid = refusals.refusal_of(CONFIG_MAP, _api_error(422, "Invalid", "data: Too long"))
    assert invalid is not None
    assert refusals.summary([refusal, invalid]) == (
        f"ConfigMap s-config refused by the API server (403 Forbidden): {quota}; "
        "ConfigMap s-config refused by the API server (422 Invalid): data: Too long"
    )


@pytest.mark.parametrize("code", [404, 408, 409, 429, 500, 503])
def test_transient_answers_are_not_refusals(code: int) -> None:
    assert refusals.refusal_of(CONFIG_MAP, _api_error(code, "Whatever", "try again")) is None


def test_time_zones_are_checked_without_a_system_tz_database() -> None:
    # As in the slim operator image: no /usr/share/zoneinfo, only the tzdata package.
    code = (
        "from pydantic import ValidationError\n"
        "from spyops.operator.api.strategy import TradingHoursSpec\n"
        "assert TradingHoursSpec(timezone='America/New_York').timezone == 'America/New_York'\n"
        "try:\n"
        "    TradingHoursSpec(timezone='Mars/Olympus')\n"
        "except ValidationError as exc:\n"
        "    print(exc.errors()[0]['msg'])\n"
    )
    env = dict(os.environ, PYTHONTZPATH="")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "'Mars/Olympus' is not a time zone of the tz database" in result.stdout
