"""Tracing's pure parts: the environment it reads, the sampler, trace context in logs and the outbox."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision

from spyops.common import tracing
from spyops.common.jsonlog import JsonFormatter
from spyops.common.tracing_sampler import trade_aware_sampler
from spyops.outbox.store import OutboxStore
from spyops.toolchain.otelcol import collector_config, parse_spans


def test_off_by_default_installs_nothing() -> None:
    settings = tracing.configure_tracing("bot", {})
    assert settings.exporter == "none"
    assert not tracing.enabled()
    with tracing.tracer().start_as_current_span("x") as span:
        assert not span.is_recording()
        assert tracing.traceparent() is None


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER: 'zipkin'"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
        ({"OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG: 'half' is not a number"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG: 2 is not between 0 and 1"),
        ({"OTEL_TRACES_EXPORTER": "azure_monitor"}, "APPLICATIONINSIGHTS_CONNECTION_STRING: required"),
    ],
)
def test_bad_environment_is_one_line_naming_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(tracing.TracingConfigError) as caught:
        tracing.settings_from_env("bot", env)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_settings_from_the_standard_environment() -> None:
    settings = tracing.settings_from_env(
        "detector",
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    )
    assert (settings.exporter, settings.protocol, settings.sampling_ratio) == ("otlp", "grpc", 0.1)
    assert settings.service_name == "spyops-detector"


def test_every_tradable_trace_is_kept_whatever_the_ratio() -> None:
    sampler = trade_aware_sampler(0.0)
    kept = sampler.should_sample(None, 0x1234, "detector.signal", attributes={tracing.TRADABLE: True})
    dropped = sampler.should_sample(None, 0x1234, "detector.signal", attributes={tracing.TRADABLE: False})
    assert kept.decision is Decision.RECORD_AND_SAMPLE
    assert dropped.decision is Decision.DROP
    everything = trade_aware_sampler(1.0).should_sample(None, 0x1234, "outbox.enqueue", attributes={})
    assert everything.decision is Decision.RECORD_AND_SAMPLE


def test_application_insights_gets_the_sample_rate_it_scales_counts_by() -> None:
    sampler = trade_aware_sampler(0.25, azure=True)
    tradable = sampler.should_sample(None, 1, "detector.signal", attributes={tracing.TRADABLE: True})
    assert tradable.attributes is not None
    assert tradable.attributes[tracing.AZURE_SAMPLE_RATE] == 100.0
    other = sampler.should_sample(None, 1, "detector.signal", attributes={})  # trace id 1: under any ratio
    assert other.attributes is not None
    assert other.attributes[tracing.AZURE_SAMPLE_RATE] == 25.0


def test_a_log_line_written_inside_a_span_names_it() -> None:
    tracer = TracerProvider().get_tracer("test")
    stream = io.StringIO()
    logger = logging.getLogger("spyops.test.tracing")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("bot"))
    logger.addHandler(handler)
    try:
        logger.warning("outside")
        with tracer.start_as_current_span("inside") as span:
            logger.warning("inside")
            context = span.get_span_context()
    finally:
        logger.removeHandler(handler)
    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "trace_id" not in outside
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")


def test_traceparent_round_trip_and_malformed_values() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("a") as span:
        value = tracing.traceparent(span)
    assert value is not None
    parent = tracing.span_context_from(value)
    assert parent is not None
    assert parent.span_id == span.get_span_context().span_id
    assert tracing.context_from("00-garbage") is None
    assert tracing.context_from(None) is None
    assert tracing.links_to(["", None, value])[0].context.span_id == parent.span_id


def test_an_outbox_written_before_tracing_gets_the_columns_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, item_id TEXT NOT NULL,
        payload TEXT NOT NULL, created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, item_id));
        INSERT INTO outbox (kind, item_id, payload, created_at) VALUES ('signal', 'old', '{"id":"old"}', 1.0);"""
    )
    old.commit()
    old.close()
    store = OutboxStore(path)
    try:
        store.enqueue("signal", {"id": "new"}, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
        first, second = store.head_batch(10)
        assert (first.item_id, first.traceparent) == ("old", "")
        assert second.traceparent.startswith("00-111")
        store.record_attempt([first, second], ["00-" + "3" * 32 + "-" + "4" * 16 + "-01", None])
        store.record_attempt([first])  # an attempt without a span keeps the last one's
        first, second = store.head_batch(10)
        assert first.attempts == 2
        assert first.attempt_traceparent.startswith("00-333")
        assert (second.attempts, second.attempt_traceparent) == (1, "")
    finally:
        store.close()


def test_the_collector_config_keeps_it_on_loopback_without_its_own_metrics_port(tmp_path: Path) -> None:
    config = collector_config(4317, 4318, tmp_path / "t.jsonl")
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].startswith("127.0.0.1:")
    assert protocols["http"]["endpoint"].startswith("127.0.0.1:")
    assert config["service"]["telemetry"]["metrics"]["level"] == "none"


def test_spans_are_read_from_the_file_exporters_otlp_json() -> None:
    line = json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": "spyops-bot"}}]
                    },
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": "ab" * 16,
                                    "spanId": "cd" * 8,
                                    "parentSpanId": "ef" * 8,
                                    "name": "outbox.replay",
                                    "startTimeUnixNano": "5",
                                    "endTimeUnixNano": "7",
                                    "attributes": [
                                        {"key": "spyops.outbox.attempt", "value": {"intValue": "3"}},
                                        {
                                            "key": "ids",
                                            "value": {"arrayValue": {"values": [{"stringValue": "x"}]}},
                                        },
                                    ],
                                    "links": [{"traceId": "ab" * 16, "spanId": "12" * 8}],
                                    "status": {"code": 2},
                                }
                            ]
                        }
                    ],
                }
            ]
        }
    )
    (span,) = parse_spans(line + "\n\n" + line[:50])  # a line still being written is not read
    assert span.service == "spyops-bot"
    assert span.attributes == {"spyops.outbox.attempt": 3, "ids": ["x"]}
    assert span.links == (("ab" * 16, "12" * 8, {}),)
    assert (span.status_code, span.start_ns, span.end_ns) == (2, 5, 7)
