"""The sampler: a share of traces, but every trade-related one.

A root span whose attributes say ``spyops.tradable`` is always kept; other roots are kept by trace id
ratio; children follow their parent (ParentBased), so a kept trace is kept whole across processes.
Imported only when tracing is on (it needs the SDK).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from spyops.common.tracing import AZURE_SAMPLE_RATE, TRADABLE


class TradeAwareSampler(Sampler):
    def __init__(self, ratio: float, *, azure: bool = False) -> None:
        self._ratio = ratio
        self._by_ratio = TraceIdRatioBased(ratio)
        self._azure = azure

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if attributes and attributes.get(TRADABLE):
            kept = SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
            rate = 100.0
        else:
            kept = self._by_ratio.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
            rate = self._ratio * 100.0
        if self._azure and kept.decision is Decision.RECORD_AND_SAMPLE:
            # Application Insights counts a kept item as 100 / sampleRate items.
            return SamplingResult(kept.decision, {**(attributes or {}), AZURE_SAMPLE_RATE: rate}, trace_state)
        return kept

    def get_description(self) -> str:
        return f"TradeAwareSampler{{ratio={self._ratio}}}"


def trade_aware_sampler(ratio: float, *, azure: bool = False) -> Sampler:
    return ParentBased(root=TradeAwareSampler(ratio, azure=azure))
