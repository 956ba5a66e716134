"""Reading Prometheus text exposition (a /metrics body) with prometheus_client's own parser.

Tests, benchmarks and the operator's bench all read metrics this way instead of
splitting lines by hand, so quoting, escaping and label order are handled once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class MetricsTextError(ValueError):
    """The text is not Prometheus exposition; the message names the first bad line."""


def _families(text: str) -> list[Metric]:
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise MetricsTextError(_bad_line(text) or f"not Prometheus text exposition: {exc}") from None


def samples(text: str) -> list[Sample]:
    """Every sample in ``text``, in order."""
    return [sample for family in _families(text) for sample in family.samples]


def families(text: str) -> set[str]:
    """The metric families ``text`` declares (``x`` of ``x_total``), with samples or none yet."""
    return {family.name for family in _families(text)}


def _bad_line(text: str) -> str | None:
    """The first line the parser refuses on its own, as 'line N: ...' (the parser's error names none)."""
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            list(text_string_to_metric_families(line + "\n"))
        except ValueError as exc:
            return f"not Prometheus text exposition, line {number}: {line[:200]!r}: {exc}"
    return None


def names(text: str) -> set[str]:
    """The names of the samples in ``text`` (``x_total``, ``x_bucket``, ...): what series exist."""
    return {sample.name for sample in samples(text)}


def value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The value of the sample ``name`` with exactly ``labels`` (none if not given), or None if absent."""
    wanted = dict(labels or {})
    for sample in samples(text):
        if sample.name == name and sample.labels == wanted:
            return float(sample.value)
    return None


@dataclass(frozen=True)
class Histogram:
    """One histogram series: cumulative ``(upper bound, count)`` buckets, ascending, and its sum."""

    buckets: tuple[tuple[float, float], ...]
    total: float

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    def quantile_bound(self, q: float) -> float:
        """The Prometheus way: the upper bound of the bucket holding the q-th observation."""
        return bucket_quantile(self.buckets, q)


def bucket_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """Upper bound of the first cumulative bucket holding at least ``q`` of the observations."""
    ordered = sorted(buckets)
    if not ordered:
        raise ValueError("a histogram without buckets has no quantile")
    total = ordered[-1][1]
    return next(bound for bound, count in ordered if count >= q * total)


def histogram(text: str, name: str, labels: Mapping[str, str] | None = None) -> Histogram | None:
    """The histogram ``name`` whose labels (besides ``le``) are exactly ``labels``, or None if absent."""
    wanted = dict(labels or {})
    buckets: list[tuple[float, float]] = []
    total: float | None = None
    for sample in samples(text):
        own = {k: v for k, v in sample.labels.items() if k != "le"}
        if own != wanted:
            continue
        if sample.name == f"{name}_bucket":
            buckets.append((float(sample.labels["le"]), float(sample.value)))
        elif sample.name == f"{name}_sum":
            total = float(sample.value)
    if not buckets or total is None:
        return None
    return Histogram(tuple(sorted(buckets)), total)
