"""The bot's series the alert rules need: trading hours open (New York time, DST-aware) and the loss limit."""

from __future__ import annotations

import datetime as dt

from prometheus_client import generate_latest

from spyops.bot.metrics import BotMetrics
from spyops.bot.risk import within_trading_hours
from spyops.schemas import TradingHours

UTC = dt.UTC
HOURS = TradingHours(timezone="America/New_York", start=dt.time(9, 30), end=dt.time(15, 55))


def test_trading_hours_follow_new_york_time_across_daylight_saving() -> None:
    # January: New York is UTC-5; July: UTC-4.
    assert within_trading_hours(HOURS, dt.datetime(2026, 1, 15, 14, 30, tzinfo=UTC))
    assert not within_trading_hours(HOURS, dt.datetime(2026, 1, 15, 14, 29, 59, tzinfo=UTC))
    assert within_trading_hours(HOURS, dt.datetime(2026, 7, 15, 13, 30, tzinfo=UTC))
    assert not within_trading_hours(HOURS, dt.datetime(2026, 7, 15, 19, 55, tzinfo=UTC))
    assert within_trading_hours(HOURS, dt.datetime(2026, 7, 15, 19, 54, 59, tzinfo=UTC))


def test_the_alert_series_are_exposed() -> None:
    metrics = BotMetrics()
    metrics.max_daily_loss.set(1000)
    metrics.trading_hours_open.set(1)
    text = generate_latest(metrics.registry).decode()
    assert "spyops_bot_max_daily_loss_dollars 1000.0" in text
    assert "spyops_bot_trading_hours_open 1.0" in text
