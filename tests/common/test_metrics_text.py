"""Reading a /metrics body: values by name and labels, histograms, and malformed text."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from spyops.common import metrics_text


def exposition() -> str:
    registry = CollectorRegistry()
    counter = Counter("demo_requests", "Requests.", ["route", "outcome"], registry=registry)
    counter.labels(route='/v1/"quoted"', outcome="ok").inc(3)
    counter.labels(route="/v1/other", outcome="ok").inc()
    Gauge("demo_up", "Up.", registry=registry).set(1)
    latency = Histogram("demo_seconds", "Latency.", ["kind"], buckets=(0.1, 0.5, 1.0), registry=registry)
    for seconds in (0.05, 0.05, 0.3, 0.7):
        latency.labels(kind="a").observe(seconds)
    latency.labels(kind="b").observe(5)
    return generate_latest(registry).decode()


def test_value_matches_name_and_exact_labels_with_escaped_quotes() -> None:
    text = exposition()
    assert metrics_text.value(text, "demo_requests_total", {"route": '/v1/"quoted"', "outcome": "ok"}) == 3
    assert metrics_text.value(text, "demo_requests_total", {"route": "/v1/other", "outcome": "ok"}) == 1
    assert metrics_text.value(text, "demo_up") == 1
    # A subset of the labels is not the series: callers name the series exactly.
    assert metrics_text.value(text, "demo_requests_total", {"outcome": "ok"}) is None
    assert metrics_text.value(text, "demo_absent") is None
    assert {"demo_requests_total", "demo_up", "demo_seconds_bucket"} <= metrics_text.names(text)
    assert "demo_requests" not in metrics_text.names(text)  # a family's name is not a sample's
    assert {"demo_requests", "demo_up", "demo_seconds"} <= metrics_text.families(text)
    assert metrics_text.families("# HELP idle_total Nothing yet.\n# TYPE idle_total counter\n") == {"idle"}


def test_histogram_buckets_sum_count_and_quantile_bound() -> None:
    text = exposition()
    a = metrics_text.histogram(text, "demo_seconds", {"kind": "a"})
    assert a is not None
    assert a.buckets == ((0.1, 2.0), (0.5, 3.0), (1.0, 4.0), (math.inf, 4.0))
    assert a.count == 4
    assert a.total == pytest.approx(1.1)
    assert a.quantile_bound(0.5) == 0.1
    assert a.quantile_bound(0.75) == 0.5
    assert a.quantile_bound(0.99) == 1.0
    b = metrics_text.histogram(text, "demo_seconds", {"kind": "b"})
    assert b is not None
    assert b.quantile_bound(0.5) == math.inf
    assert metrics_text.histogram(text, "demo_seconds", {"kind": "c"}) is None


def test_bucket_quantile_sorts_and_refuses_no_buckets() -> None:
    assert metrics_text.bucket_quantile([(math.inf, 10), (1.0, 9), (0.5, 1)], 0.5) == 1.0
    with pytest.raises(ValueError, match="without buckets"):
        metrics_text.bucket_quantile([], 0.5)


def test_malformed_text_names_the_line() -> None:
    text = '# TYPE demo_up gauge\ndemo_up 1\ndemo_requests_total{route="/x"} many\n'
    with pytest.raises(metrics_text.MetricsTextError) as raised:
        metrics_text.value(text, "demo_up")
    message = str(raised.value)
    assert "line 3" in message
    assert 'demo_requests_total{route="/x"} many' in message
    assert "\n" not in message
