"""End to end: one injected anomaly is one trace in a real OpenTelemetry Collector.

Real parts: the gateway simulator (TWS protocol, its control API for the injection), the detector
service and one ``spyops bot --standalone`` as their own processes exporting OTLP over HTTP, the
backend process exporting OTLP over gRPC, and the collector built from its Go module
(``spyops.toolchain.otelcol``: OTLP receiver + file exporter), whose output file is the query path.

The first anomaly's trace must hold the detector's, the bot's (risk, journal, placeOrder, fill),
the outbox's and the backend's spans in parent/child order. Then the backend goes away (the link to
Azure is down), a second anomaly trades, its fill's send attempts fail, the backend comes back, and
the same trace holds the failed attempts and an ``outbox.replay`` span linked to the last of them,
with the backend's ingest under it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from spyops.bot import order_refs
from spyops.common.polling import until
from spyops.schemas import AnomalyKind, RuntimeConfig, Signal
from spyops.signalstream import subscribe
from spyops.toolchain.otelcol import Collector, SpanRecord, running_collector
from tests.backend_process import BackendProcess, _free_port
from tests.bot.harness import (
    BotProcess,
    DetectorProcess,
    gateway_orders,
    simulator,
    traded_through_backend,
    wait_http_ok,
    write_config,
)

STRATEGY = "tracing/spy-0dte"
TOKEN = "edge-backend-token-trace-7f3a9c"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with running_collector(tmp_path / "otelcol") as running:
        yield running


def _by_id(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {s.span_id: s for s in spans}


def _children(spans: list[SpanRecord], parent: SpanRecord, name: str) -> list[SpanRecord]:
    return [s for s in spans if s.parent_span_id == parent.span_id and s.name == name]


def _child(spans: list[SpanRecord], parent: SpanRecord, name: str) -> SpanRecord:
    found = _children(spans, parent, name)
    assert found, f"no {name} under {parent.name} ({parent.service}); trace: {_outline(spans)}"
    return found[0]


def _outline(spans: list[SpanRecord]) -> list[tuple[str, str, str]]:
    names = _by_id(spans)
    return [
        (s.service, s.name, names[s.parent_span_id].name if s.parent_span_id in names else "-") for s in spans
    ]


def _signal_trace(collector: Collector, signal_id: str) -> list[SpanRecord]:
    spans = collector.spans()
    roots = [
        s for s in spans if s.name == "detector.signal" and s.attributes.get("spyops.signal.id") == signal_id
    ]
    assert len(roots) == 1, f"{len(roots)} detector.signal spans for {signal_id}"
    return [s for s in spans if s.trace_id == roots[0].trace_id]


def _fill_chains(trace: list[SpanRecord], order_ref: str) -> list[tuple[SpanRecord, list[SpanRecord]]]:
    """Each ``bot.fill`` of ``order_ref`` (the fill, then its commission report) with the send
    attempts of its outbox item, oldest first."""
    chains = []
    for fill in (
        s for s in trace if s.name == "bot.fill" and s.attributes.get("spyops.order_ref") == order_ref
    ):
        for enqueue in _children(trace, fill, "outbox.enqueue"):
            attempts = [s for s in trace if s.parent_span_id == enqueue.span_id]
            chains.append((fill, sorted(attempts, key=lambda s: s.start_ns)))
    return chains


def _retried(trace: list[SpanRecord]) -> list[list[SpanRecord]]:
    """The send attempts, oldest first, of every outbox item in the trace whose first attempt failed."""
    chains = []
    for enqueue in (s for s in trace if s.name == "outbox.enqueue"):
        attempts = sorted((s for s in trace if s.parent_span_id == enqueue.span_id), key=lambda s: s.start_ns)
        if attempts and attempts[0].status_code == 2:
            chains.append(attempts)
    return chains


def _delivered(
    trace: list[SpanRecord], order_ref: str
) -> tuple[SpanRecord, list[SpanRecord], SpanRecord] | None:
    """A fill of ``order_ref`` whose last attempt has the backend's ingest under it, if one is complete."""
    for fill, attempts in _fill_chains(trace, order_ref):
        if attempts:
            ingests = _children(trace, attempts[-1], "backend.ingest")
            if ingests and _children(trace, ingests[0], "backend.broadcast"):
                return fill, attempts, ingests[0]
    return None


def _trace_of(collector: Collector, signal_id: str) -> list[SpanRecord]:
    spans = collector.spans()
    roots = {
        s.trace_id
        for s in spans
        if s.name == "detector.signal" and s.attributes.get("spyops.signal.id") == signal_id
    }
    return [s for s in spans if s.trace_id in roots]


async def _inject(control_port: int) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{control_port}/anomalies",
            json={"kind": AnomalyKind.VERTICAL_SPREAD.value, "duration_seconds": 5.0},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        injected: dict[str, object] = (await response.json())["injected"]
        return injected


async def test_one_signal_one_trace_through_every_hop_and_an_outage(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "backend-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    # The processes below inherit this environment: every one of them traces, fast batches.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.otlp_http)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")  # only trade-related traces are kept
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    backend_port = _free_port()

    def backend() -> BackendProcess:
        return BackendProcess(
            backend_port, tmp_path / "history.sqlite3", token_file, tmp_path / "backend.log"
        )

    with monkeypatch.context() as grpc:
        # The backend exports over gRPC, so both OTLP transports are proven.
        grpc.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
        grpc.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.otlp_grpc)
        server_backend = backend()
        await server_backend.start()
    async with simulator() as server:
        config_path = tmp_path / "config.json"

        def config_for(stream_url: str) -> RuntimeConfig:
            return traded_through_backend(server.port, stream_url, STRATEGY, server_backend.url, token_file)

        write_config(config_path, config_for(""))
        detector = DetectorProcess(tmp_path, config_path)
        bot = BotProcess("bot-0", tmp_path, config_path, kubeconfig=None, namespace="tracing")
        signals: list[Signal] = []
        reader: asyncio.Task[None] | None = None
        try:
            detector.start()
            started = await detector.wait_started()
            stream_url = f"http://127.0.0.1:{started['stream_port']}"
            write_config(config_path, config_for(stream_url))

            async def read_signals() -> None:
                async for envelope in subscribe(stream_url):
                    signals.append(envelope.signal)

            reader = asyncio.create_task(read_signals())
            bot.start()
            await bot.wait_ready(60)
            await wait_http_ok(f"http://127.0.0.1:{started['probe_port']}/ready")

            async def trade_one() -> tuple[Signal, list[str]]:
                before = len(signals)
                injected = await _inject(server.control_port)

                def matching() -> list[Signal]:
                    return [
                        s
                        for s in signals[before:]
                        if s.suggested_order is not None
                        and any(
                            leg.contract.strike == injected["strike"]
                            and leg.contract.right.value == injected["right"]
                            for leg in s.suggested_order.legs
                        )
                    ]

                await until(lambda: bool(matching()), 30, what="a signal on the injected contract")
                signal = matching()[0]
                assert signal.suggested_order is not None
                refs = [
                    order_refs.order_ref(STRATEGY, signal.id, i)
                    for i in range(len(signal.suggested_order.legs))
                ]
                await until(
                    lambda: all(
                        gateway_orders(server, r) and gateway_orders(server, r)[0]["filled"] > 0 for r in refs
                    ),
                    30,
                    what="every leg filled at the gateway",
                )
                return signal, refs

            # 1. One signal, one trace, every hop in parent/child order.
            signal, refs = await trade_one()

            def complete() -> bool:
                trace = _trace_of(collector, signal.id)
                return all(_delivered(trace, ref) for ref in refs) and any(
                    s.name == "backend.broadcast" and s.attributes.get("spyops.broadcast.kind") == "signal"
                    for s in trace
                )

            await until(
                complete, 30, what="the signal's and its fills' spans, to the backend, at the collector"
            )
            trace = _signal_trace(collector, signal.id)
            root = next(s for s in trace if s.name == "detector.signal")
            assert root.parent_span_id == ""
            assert root.service == "spyops-detector"
            assert root.attributes["spyops.strategy"] == STRATEGY
            assert root.attributes["spyops.tradable"] is True
            _child(trace, root, "detector.quote_update")
            _child(trace, root, "detector.scan")
            publish = _child(trace, root, "detector.publish")
            # the signal toward the backend: the detector's outbox, the backend's ingest and broadcast
            signal_enqueue = _child(trace, publish, "outbox.enqueue")
            signal_send = _child(trace, signal_enqueue, "outbox.send")
            signal_ingest = _child(trace, signal_send, "backend.ingest")
            assert signal_ingest.service == "spyops-backend"
            assert signal_ingest.attributes["spyops.signal.id"] == signal.id
            _child(trace, signal_ingest, "backend.broadcast")
            # the bot: the signal from the stream, its risk verdict, the journal, placeOrder, the fill
            decided = _child(trace, publish, "bot.signal")
            assert decided.service == "spyops-bot"
            assert decided.attributes["spyops.decision"] == "TRADED"
            risk = _child(trace, decided, "bot.risk")
            assert risk.attributes["spyops.risk.allowed"] is True
            assert risk.attributes["spyops.risk.rule"] == "all_passed"
            _child(trace, decided, "bot.journal")
            place = _child(trace, decided, "bot.place_order")
            assert place.attributes["spyops.order_refs"] == refs
            for ref in refs:
                delivered = _delivered(trace, ref)
                assert delivered is not None
                fill, attempts, ingest = delivered
                assert fill.parent_span_id == place.span_id
                assert [a.name for a in attempts] == ["outbox.send"]
                assert ingest.attributes["spyops.order_ref"] == ref
            # logs written inside a span name it
            trace_ids = {line.get("trace_id") for line in bot.log_lines() if line.get("msg") == "orders sent"}
            assert root.trace_id in trace_ids, trace_ids

            # 2. The link goes down (the backend is unreachable): a trade's fill waits in the outbox,
            # its attempts fail; when the link returns, the replay continues the same trace, linked.
            await server_backend.stop()
            outage_signal, outage_refs = await trade_one()

            def failed_attempt() -> bool:
                trace = [
                    s for s in collector.spans() if s.attributes.get("spyops.order_ref") == outage_refs[0]
                ]
                if not trace:
                    return False
                spans = [s for s in collector.spans() if s.trace_id == trace[0].trace_id]
                return any(s.name.startswith("outbox.") and s.status_code == 2 for s in spans)

            await until(failed_attempt, 30, what="a failed send attempt of the outage's fill")
            with monkeypatch.context() as grpc:
                grpc.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
                grpc.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.otlp_grpc)
                server_backend = backend()
                await server_backend.start()

            def outage_chains() -> list[tuple[SpanRecord, list[SpanRecord]]]:
                trace = _trace_of(collector, outage_signal.id)
                return [chain for ref in outage_refs for chain in _fill_chains(trace, ref)]

            def replayed() -> bool:
                # Every item that failed (the signal's in the detector's outbox, the fills' in the bot's)
                # has been replayed successfully: a replay may fail too while the link comes back, and
                # the replays of the two outboxes reach the collector in any order.
                chains = outage_chains()
                trace = _trace_of(collector, outage_signal.id)
                refs_seen = {fill.attributes["spyops.order_ref"] for fill, _attempts in chains}
                return (
                    refs_seen == set(outage_refs)
                    and all(
                        a and a[-1].name == "outbox.replay" and a[-1].status_code != 2 for _f, a in chains
                    )
                    and all(a[-1].name == "outbox.replay" and a[-1].status_code != 2 for a in _retried(trace))
                    and any(_children(trace, a[-1], "backend.ingest") for _f, a in chains)
                )

            await until(replayed, 60, what="the outage's fills replayed to the backend, at the collector")
            chains = outage_chains()
            trace = _signal_trace(collector, outage_signal.id)
            # Every item of the trace that had failed attempts (the first to go out when the link
            # was down) ends in a replay linked to its last failed attempt, in the same trace.
            retried = _retried(trace)
            assert retried, f"no failed send attempt in the outage's trace: {_outline(trace)}"
            for *earlier, replay in retried:
                assert all(a.status_code == 2 for a in earlier), _outline(trace)
                assert replay.name == "outbox.replay"
                assert replay.status_code != 2
                linked = {(t, s) for t, s, _attrs in replay.links}
                assert (earlier[-1].trace_id, earlier[-1].span_id) in linked, replay.links
            # The fills waited through the outage too: each is sent as a replay of the same trace.
            for _fill, attempts in chains:
                assert attempts[-1].name == "outbox.replay", _outline(trace)
            ingests = [
                ingest
                for _fill, attempts in chains
                for ingest in _children(trace, attempts[-1], "backend.ingest")
            ]
            assert {i.attributes.get("spyops.order_ref") for i in ingests} <= set(outage_refs)
            for ingest in ingests:
                _child(trace, ingest, "backend.broadcast")
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            bot.stop()
            detector.stop()
            await server_backend.stop()
