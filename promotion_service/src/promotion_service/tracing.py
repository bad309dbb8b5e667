"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables and off by default.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_TRACES_EXPORTER`` asks for it (and ``OTEL_SDK_DISABLED`` is not true). Off, nothing of
the SDK is built: no exporter, no instrumentation, no log processor; the API's no-op
implementation answers the few calls the code makes. On, each worker process gets a tracer
provider exporting in batches over OTLP/HTTP (protobuf), and the FastAPI, PyMongo and
aio-pika instrumentations. PyMongo's is a command listener registered for every client made
afterwards; its events are published in the task running the command, so the asyncio client's
commands are children of the span that awaits them. The standard variables keep their
meaning: ``OTEL_SERVICE_NAME`` (else this process's default name), ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_BSP_*`` and the like.

A database command outside any trace (a readiness ping, the consumer's start) starts no
trace of its own: the services start traces at their entry points only (an HTTP request, a
message), so a collector is not flooded with one-span traces.
"""

import os
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

API_SERVICE_NAME = "promotion-api"
CONSUMER_SERVICE_NAME = "promotion-consumer"
# Operations endpoints are polled by load balancers and scrapers: no trace for them.
DEFAULT_EXCLUDED_URLS = "/livez,/healthz,/readyz,/metrics"
_EXPORTERS = frozenset({"otlp", "console"})
_PROTOCOL = "http/protobuf"

log = structlog.get_logger("promotion_service.tracing")


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """What the ``OTEL_*`` variables ask for; ``None`` from ``tracing_config`` when off."""

    exporters: tuple[str, ...]
    otlp_endpoint: str


def _value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def tracing_config(env: Mapping[str, str]) -> TracingConfig | None:
    """The tracing the environment asks for, ``None`` when off; ``ValueError`` if unusable."""
    if _value(env, "OTEL_SDK_DISABLED").lower() == "true":
        return None
    named = [part.strip().lower() for part in _value(env, "OTEL_TRACES_EXPORTER").split(",")]
    exporters = tuple(part for part in named if part)
    endpoint = _value(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = _value(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporters == ("none",) or not (exporters or endpoint or base):
        return None
    exporters = exporters or ("otlp",)
    unknown = sorted(set(exporters) - _EXPORTERS)
    if unknown:
        raise ValueError(f"OTEL_TRACES_EXPORTER: {unknown} unsupported (otlp, console or none)")
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = _value(env, name)
        if protocol:
            if protocol != _PROTOCOL:
                raise ValueError(f"{name}: only {_PROTOCOL} is supported")
            break
    if not endpoint:
        endpoint = f"{(base or 'http://localhost:4318').rstrip('/')}/v1/traces"
    return TracingConfig(exporters=exporters, otlp_endpoint=endpoint)


class NoRootDatabaseSpans(Sampler):
    """Drops a client span (a database command) that no trace of ours surrounds; everything
    else is decided by the sampler ``OTEL_TRACES_SAMPLER`` chose."""

    def __init__(self, delegate: Sampler) -> None:
        self._delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoRootDatabaseSpans{{{self._delegate.get_description()}}}"


def build_tracer_provider(config: TracingConfig, default_service_name: str) -> TracerProvider:
    """A provider named after this process, exporting as ``config`` says."""
    detected = OTELResourceDetector().detect()
    named = SERVICE_NAME in detected.attributes
    resource = Resource.create({} if named else {SERVICE_NAME: default_service_name})
    provider = TracerProvider(resource=resource)
    provider.sampler = NoRootDatabaseSpans(provider.sampler)  # before any tracer is made
    for processor in _processors(config):
        provider.add_span_processor(processor)
    return provider


def _processors(config: TracingConfig) -> list[SpanProcessor]:
    processors: list[SpanProcessor] = []
    if "otlp" in config.exporters:
        # Imported only when used: an exporter that nobody asked for costs nothing.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        processors.append(BatchSpanProcessor(OTLPSpanExporter(endpoint=config.otlp_endpoint)))
    if "console" in config.exporters:
        processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    return processors


_provider: TracerProvider | None = None


def start_tracing(default_service_name: str, app: FastAPI | None = None) -> TracerProvider | None:
    """Trace this process (once) and ``app``, if the environment asks; the provider, or None.

    The consumer passes no app: the aio-pika instrumentation's consume span continues the
    trace named by a message's ``traceparent`` header (a new trace without one), and the
    grant's database commands are its children."""
    global _provider
    config = tracing_config(os.environ)
    if config is None:
        return None
    if _provider is None:
        _provider = build_tracer_provider(config, default_service_name)
        trace.set_tracer_provider(_provider)
        PymongoInstrumentor().instrument(tracer_provider=_provider)
        AioPikaInstrumentor().instrument(tracer_provider=_provider)
        log.info("tracing_started", exporters=list(config.exporters))
    if app is not None:
        excluded = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or DEFAULT_EXCLUDED_URLS
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=_provider,
            excluded_urls=excluded,
            exclude_spans=["receive", "send"],
        )
    return _provider


def add_trace_ids(
    _logger: object, _method: str, event_dict: MutableMapping[str, object]
) -> MutableMapping[str, object]:
    """structlog processor: the active span's ``trace_id`` and ``span_id``, when there is one."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict["trace_id"] = format(span_context.trace_id, "032x")
        event_dict["span_id"] = format(span_context.span_id, "016x")
    return event_dict
