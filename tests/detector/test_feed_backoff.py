"""The market feed's reconnect loop backs off with the shared policy while the gateway refuses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import pytest
from prometheus_client import CollectorRegistry

from spyops.common.retry import Backoff
from spyops.detector.market_feed import FeedTarget, MarketFeed
from spyops.detector.metrics import DetectorMetrics
from spyops.schemas import DetectorSettings, GatewayEndpoint


def _refusing_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connects are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_reconnects_back_off_within_the_policy_window(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="spyops.detector.feed")
    feed = MarketFeed(
        FeedTarget(GatewayEndpoint(host="127.0.0.1", port=_refusing_port()), "SPY"),
        DetectorSettings,
        DetectorMetrics(CollectorRegistry()),
        lambda: None,
        request_timeout=2.0,
        backoff_initial=0.01,
        backoff_max=0.16,
    )
    task = asyncio.create_task(feed.run())
    try:
        for _ in range(600):  # 30 s at most
            if len(_delays(caplog)) >= 8:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    delays = _delays(caplog)
    policy = Backoff(base=0.01, cap=0.16)
    assert all(0.0 <= d <= policy.ceiling(n) + 0.005 for n, d in enumerate(delays)), delays
    assert max(delays[4:]) > 0.02, "the window grows past the first retries' 0.01..0.02 s"


def _delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        float(r.__dict__["retry_in_s"])
        for r in caplog.records
        if r.getMessage() == "reconnecting to the gateway"
    ]
