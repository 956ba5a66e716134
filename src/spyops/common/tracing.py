"""OpenTelemetry tracing for the spyops processes: off unless configured, W3C trace context.

Configuration is the standard OpenTelemetry environment (what the operator renders into the pods
from ``spec.tracing``):

- ``OTEL_TRACES_EXPORTER``: ``none`` (default: nothing is installed, the API's no-op tracer is
  used and no span processor runs), ``otlp`` or ``azure_monitor``;
- ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` (or ``OTEL_EXPORTER_OTLP_PROTOCOL``): ``http/protobuf``
  (default) or ``grpc``; the endpoint from ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
  ``OTEL_EXPORTER_OTLP_ENDPOINT``, read by the exporter itself;
- ``APPLICATIONINSIGHTS_CONNECTION_STRING`` for ``azure_monitor``;
- ``OTEL_TRACES_SAMPLER_ARG``: the share of traces kept, 0..1 (default 1). Traces of tradable
  signals (root span attribute ``spyops.tradable``) are always kept, whatever the ratio;
- ``OTEL_SERVICE_NAME`` (default ``spyops-<component>``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanContext, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:  # the SDK is imported only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

EXPORTERS = ("none", "otlp", "azure_monitor")
PROTOCOLS = ("http/protobuf", "grpc")
TRADABLE = "spyops.tradable"  # root span attribute: a trade-related trace, always kept
# Application Insights scales counts by this attribute (what its own ApplicationInsightsSampler sets).
AZURE_SAMPLE_RATE = "_MS.sampleRate"

_PROPAGATOR = TraceContextTextMapPropagator()
_NOOP: Tracer = trace.NoOpTracer()
_tracer: Tracer = _NOOP
_provider: TracerProvider | None = None  # the SDK's, when tracing is on


class TracingConfigError(ValueError):
    """The tracing environment is invalid; the message names the variable."""


@dataclass(frozen=True)
class TracingSettings:
    exporter: str = "none"
    protocol: str = "http/protobuf"
    sampling_ratio: float = 1.0
    service_name: str = "spyops"
    connection_string: str = ""


def settings_from_env(component: str, env: Mapping[str, str]) -> TracingSettings:
    """Read and check the tracing environment (pure: no SDK touched)."""
    exporter = env.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    if exporter not in EXPORTERS:
        raise TracingConfigError(f"OTEL_TRACES_EXPORTER: {exporter!r} is not one of {', '.join(EXPORTERS)}")
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in PROTOCOLS:
        raise TracingConfigError(
            f"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: {protocol!r} is not one of {', '.join(PROTOCOLS)}"
        )
    raw_ratio = env.get("OTEL_TRACES_SAMPLER_ARG", "1").strip() or "1"
    try:
        ratio = float(raw_ratio)
    except ValueError:
        raise TracingConfigError(f"OTEL_TRACES_SAMPLER_ARG: {raw_ratio!r} is not a number") from None
    if not 0.0 <= ratio <= 1.0:
        raise TracingConfigError(f"OTEL_TRACES_SAMPLER_ARG: {raw_ratio} is not between 0 and 1")
    connection_string = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    if exporter == "azure_monitor" and not connection_string:
        raise TracingConfigError(
            "APPLICATIONINSIGHTS_CONNECTION_STRING: required when OTEL_TRACES_EXPORTER is azure_monitor"
        )
    return TracingSettings(
        exporter=exporter,
        protocol=protocol,
        sampling_ratio=ratio,
        service_name=env.get("OTEL_SERVICE_NAME", "").strip() or f"spyops-{component}",
        connection_string=connection_string,
    )


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "azure_monitor":
        from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

        return AzureMonitorTraceExporter(connection_string=settings.connection_string)
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def configure_tracing(component: str, env: Mapping[str, str] | None = None) -> TracingSettings:
    """Install the SDK with the configured exporter; with ``none``, install nothing at all."""
    global _tracer, _provider
    settings = settings_from_env(component, os.environ if env is None else env)
    if settings.exporter == "none":
        return settings
    # The SDK is imported only when tracing is on: off costs nothing, not even the import.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from spyops.common.tracing_sampler import trade_aware_sampler

    provider = TracerProvider(
        sampler=trade_aware_sampler(settings.sampling_ratio, azure=settings.exporter == "azure_monitor"),
        resource=Resource.create({"service.name": settings.service_name}),
    )
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    _provider = provider
    _tracer = provider.get_tracer("spyops")
    log.info(
        "tracing on",
        extra={
            "exporter": settings.exporter,
            "protocol": settings.protocol if settings.exporter == "otlp" else "",
            "sampling_ratio": settings.sampling_ratio,
            "service_name": settings.service_name,
        },
    )
    return settings


def shutdown_tracing() -> None:
    """Export what is buffered and stop (on process exit); a no-op when tracing is off."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, _NOOP
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    return _provider is not None


def tracer() -> Tracer:
    """The process's tracer: the SDK's when tracing is on, the API's no-op tracer otherwise."""
    return _tracer


def traceparent(span: trace.Span | None = None) -> str | None:
    """The W3C ``traceparent`` of ``span`` (default: the current span); None without a valid one."""
    context = trace.set_span_in_context(span) if span is not None else None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier.get("traceparent")


def context_from(traceparent_value: str | None) -> Context | None:
    """A context whose parent is the remote span ``traceparent_value`` names; None if absent or malformed."""
    if not traceparent_value:
        return None
    context = _PROPAGATOR.extract({"traceparent": traceparent_value})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def span_context_from(traceparent_value: str | None) -> SpanContext | None:
    context = context_from(traceparent_value)
    return trace.get_current_span(context).get_span_context() if context is not None else None


def links_to(traceparents: Sequence[str | None], attributes: Attributes = None) -> list[Link]:
    """Links to the spans the given ``traceparent`` values name (absent or malformed ones skipped)."""
    contexts = [span_context_from(value) for value in traceparents]
    return [Link(c, attributes) for c in contexts if c is not None]


def log_fields() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the current span, for a log line written inside it."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
