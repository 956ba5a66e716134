"""The outbox against a real HTTP backend: outages, modes, order, exactly-once storage, crashes."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from spyops.common.polling import until
from spyops.outbox import OutboxSender, OutboxStore, SenderSettings
from spyops.outbox.sender import OutboxMetrics
from spyops.outbox.store import OutboxError
from spyops.schemas import Execution, OptionContract, OrderSide, OutboundMode, OutboundSettings
from tests.outbox.backend import RecordingBackend

TOKEN = "backend-token-5d1f9a7c3e"
FAST = SenderSettings(
    batch_size=7,
    request_timeout_seconds=5,
    backoff_initial_seconds=0.05,
    backoff_max_seconds=0.2,
    idle_poll_seconds=0.2,
)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def backend() -> AsyncIterator[RecordingBackend]:
    b = RecordingBackend(token=TOKEN)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OutboxStore]:
    s = OutboxStore(tmp_path / "outbox.db")
    yield s
    s.close()


def outbound(mode: OutboundMode, url: str, token_file: Path, backup_url: str = "") -> OutboundSettings:
    return OutboundSettings(mode=mode, backend_url=url, backup_url=backup_url, token_file=str(token_file))


class Running:
    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.task = asyncio.create_task(sender.run())

    async def stop(self) -> None:
        self.sender.stop()
        await asyncio.wait_for(self.task, 30)


def produce(store: OutboxStore, n: int, start: int = 0) -> list[tuple[str, str]]:
    """n items alternating in runs: 3 signals, 1 execution, ...; returns (path, id) in enqueue order."""
    expected = []
    for i in range(start, start + n):
        if i % 4 == 3:
            store.enqueue("execution", {"id": f"exec-{i:04d}", "order_ref": f"o{i}", "quantity": 1})
            expected.append(("executions", f"exec-{i:04d}"))
        else:
            store.enqueue("signal", {"id": f"{i:032x}", "rule": "parity", "edge": 0.1 * i})
            expected.append(("signals", f"{i:032x}"))
    return expected


async def test_backend_down_then_up_delivers_exactly_n_in_order(
    store: OutboxStore, backend: RecordingBackend, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registry = CollectorRegistry()
    await backend.stop()  # the link is down: nothing listens
    sender = OutboxSender(
        store,
        outbound(OutboundMode.DIRECT, backend.url, token_file),
        FAST,
        OutboxMetrics(registry, "detector"),
    )
    running = Running(sender)
    try:
        expected = produce(store, 25)
        sender.wake()
        await until(
            lambda: (
                (
                    registry.get_sample_value(
                        "spyops_outbox_send_failures_total",
                        {"component": "detector", "reason": "unreachable"},
                    )
                    or 0
                )
                >= 3
            )
        )
        assert sum(store.pending_count().values()) == 25
        await until(
            lambda: (
                (
                    registry.get_sample_value(
                        "spyops_outbox_pending", {"component": "detector", "kind": "signal"}
                    )
                    or 0
                )
                > 0
            )
        )
        expected += produce(store, 15, start=25)  # produced while still down
        await backend.start()  # same port: the link is back
        await until(lambda: backend.total() == 40)
        await until(lambda: sum(store.pending_count().values()) == 0)
    finally:
        await running.stop()
    assert backend.arrival == expected
    assert backend.duplicates == 0
    assert (
        registry.get_sample_value("spyops_outbox_sent_total", {"component": "detector", "kind": "signal"})
        == 30
    )
    assert (
        registry.get_sample_value("spyops_outbox_pending", {"component": "detector", "kind": "signal"}) == 0
    )
    assert TOKEN not in caplog.text


async def test_lost_acknowledgements_are_resent_and_deduped(
    store: OutboxStore, backend: RecordingBackend, token_file: Path
) -> None:
    backend.fail_after_store = 2
    sender = OutboxSender(
        store,
        outbound(OutboundMode.DIRECT, backend.url, token_file),
        FAST,
        OutboxMetrics(CollectorRegistry()),
    )
    expected = produce(store, 20)
    running = Running(sender)
    try:
        await until(lambda: sum(store.pending_count().values()) == 0)
    finally:
        await running.stop()
    assert backend.arrival == expected
    assert backend.duplicates > 0  # at least once on the wire, exactly once in the backend


async def test_buffering_keeps_everything_until_switched_back(
    store: OutboxStore, backend: RecordingBackend, token_file: Path
) -> None:
    sender = OutboxSender(
        store,
        outbound(OutboundMode.BUFFERING, backend.url, token_file),
        FAST,
        OutboxMetrics(CollectorRegistry()),
    )
    running = Running(sender)
    try:
        expected = produce(store, 12)
        sender.wake()
        await asyncio.sleep(0.6)  # several idle polls of the sender
        assert backend.posts == 0
        assert sum(store.pending_count().values()) == 12
        sender.set_outbound(outbound(OutboundMode.DIRECT, backend.url, token_file))  # a hot-reloaded config
        await until(lambda: backend.total() == 12)
    finally:
        await running.stop()
    assert backend.arrival == expected


async def test_backup_mode_sends_to_the_backup_route(
    store: OutboxStore, backend: RecordingBackend, token_file: Path
) -> None:
    backup = RecordingBackend(token=TOKEN)
    await backup.start()
    try:
        sender = OutboxSender(
            store,
            outbound(OutboundMode.BACKUP, backend.url, token_file, backup_url=backup.url),
            FAST,
            OutboxMetrics(CollectorRegistry()),
        )
        running = Running(sender)
        try:
            expected = produce(store, 9)
            sender.wake()
            await until(lambda: backup.total() == 9)
        finally:
            await running.stop()
    finally:
        await backup.stop()
    assert backup.arrival == expected
    assert backend.posts == 0


async def test_invalid_item_is_dead_lettered_and_the_rest_flows(
    store: OutboxStore, backend: RecordingBackend, token_file: Path
) -> None:
    registry = CollectorRegistry()
    store.enqueue("signal", {"id": "a" * 32})
    store.enqueue("signal", {"id": "b" * 32, "bad": True})
    store.enqueue("signal", {"id": "c" * 32})
    sender = OutboxSender(
        store, outbound(OutboundMode.DIRECT, backend.url, token_file), FAST, OutboxMetrics(registry)
    )
    running = Running(sender)
    try:
        await until(lambda: sum(store.pending_count().values()) == 0)
    finally:
        await running.stop()
    assert [i for _, i in backend.arrival] == ["a" * 32, "c" * 32]
    assert [(kind, ident) for _, kind, ident, _ in store.dead_letters()] == [("signal", "b" * 32)]
    assert registry.get_sample_value("spyops_outbox_dead_letters_total", {"component": ""}) == 1


async def test_wrong_token_keeps_items_and_retries(
    store: OutboxStore, backend: RecordingBackend, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token", encoding="utf-8")
    sender = OutboxSender(
        store, outbound(OutboundMode.DIRECT, backend.url, wrong), FAST, OutboxMetrics(CollectorRegistry())
    )
    store.enqueue("order", {"id": "order-1:1"})
    running = Running(sender)
    try:
        await until(lambda: backend.posts >= 2)
        assert store.pending_count() == {"order": 1}
        assert sender.last_error.startswith("http_401")
        snapshot = sender.snapshot()
        assert snapshot["mode"] == "direct"
        assert snapshot["pending"] == {"order": 1}
        assert snapshot["oldestAgeSeconds"] >= 0
        assert TOKEN not in str(snapshot)
        wrong.write_text(TOKEN, encoding="utf-8")  # the Secret is rotated; no restart needed
        await until(lambda: backend.total() == 1)
    finally:
        await running.stop()


@pytest.mark.parametrize("form", ["delta-seconds", "HTTP-date"])
async def test_a_throttled_send_waits_for_retry_after(
    store: OutboxStore, backend: RecordingBackend, token_file: Path, form: str
) -> None:
    """A 429's Retry-After (either form) stretches the wait past the 0..0.05 s first backoff."""
    if form == "delta-seconds":
        backend.throttle = ["1"]
    else:  # a whole second later than now+1 s at the latest, as HTTP-dates have 1 s resolution
        backend.throttle = [
            email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2), usegmt=True)
        ]
    registry = CollectorRegistry()
    settings = SenderSettings(backoff_initial_seconds=0.05, backoff_max_seconds=5.0, idle_poll_seconds=0.2)
    sender = OutboxSender(
        store,
        outbound(OutboundMode.DIRECT, backend.url, token_file),
        settings,
        OutboxMetrics(registry, "bot"),
    )
    expected = produce(store, 3)
    running = Running(sender)
    try:
        await until(lambda: backend.total() == 3)
    finally:
        await running.stop()
    assert backend.arrival == expected
    assert len(backend.post_times) == 2
    assert backend.post_times[1] - backend.post_times[0] >= 0.95
    assert (
        registry.get_sample_value(
            "spyops_outbox_send_failures_total", {"component": "bot", "reason": "http_429"}
        )
        == 1
    )


def test_enqueue_validates_and_dedupes(store: OutboxStore) -> None:
    execution = Execution(
        id="0000e1b4.65f1a2b3.01.01",
        order_ref="strat:sig:leg0",
        contract=OptionContract(underlying="SPY", expiry=dt.date(2026, 11, 20), strike=590, right="C"),
        side=OrderSide.BUY,
        quantity=1,
        price=1.25,
        time=dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC),
    )
    first = store.enqueue("execution", execution)
    assert first is not None
    assert store.enqueue("execution", execution) is None  # still pending: not stored twice
    assert store.head_batch(10)[0].item_id == execution.id
    with pytest.raises(OutboxError, match="unknown outbox kind 'quote'"):
        store.enqueue("quote", {"id": "x"})
    with pytest.raises(OutboxError, match="no string `id`"):
        store.enqueue("signal", {"rule": "parity"})
    with pytest.raises(OutboxError, match="not JSON-serialisable"):
        store.enqueue("signal", {"id": "x", "edge": float("nan")})
    assert store.pending_count() == {"execution": 1}


async def test_submit_is_durable_and_wakes_the_sender(
    store: OutboxStore, backend: RecordingBackend, token_file: Path
) -> None:
    slow_poll = SenderSettings(idle_poll_seconds=600, backoff_initial_seconds=0.05, backoff_max_seconds=0.2)
    sender = OutboxSender(
        store,
        outbound(OutboundMode.DIRECT, backend.url, token_file),
        slow_poll,
        OutboxMetrics(CollectorRegistry()),
    )
    running = Running(sender)
    try:
        await asyncio.sleep(0.1)  # the sender is now idle, waiting for a wake-up
        seq = await sender.submit("order", {"id": "order-1"})
        assert seq is not None
        await until(lambda: backend.total() == 1)
    finally:
        await running.stop()
    assert backend.stored["orders"] == [{"id": "order-1"}]


async def test_killed_between_enqueue_and_send_loses_nothing(
    tmp_path: Path, backend: RecordingBackend, token_file: Path
) -> None:
    db = tmp_path / "crash" / "outbox.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from spyops.outbox import OutboxStore
        store = OutboxStore(Path({str(db)!r}))
        for i in range(30):
            store.enqueue("signal", {{"id": f"{{i:032x}}", "n": i}})
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint: a hard crash
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == -9, stderr.decode()
    store = OutboxStore(db)
    try:
        assert store.pending_count() == {"signal": 30}
        sender = OutboxSender(
            store,
            outbound(OutboundMode.DIRECT, backend.url, token_file),
            FAST,
            OutboxMetrics(CollectorRegistry()),
        )
        running = Running(sender)
        try:
            await until(lambda: backend.total() == 30)
        finally:
            await running.stop()
    finally:
        store.close()
    assert [item["n"] for item in backend.stored["signals"]] == list(range(30))
