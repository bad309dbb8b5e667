"""Tracing's pure pieces: when the OTEL_* variables turn it on, the trace context an outbox
entry keeps and the relay continues, the sampler's rule, and the log lines' ids."""

import json
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind, get_current_span

from login_service.config import Settings
from login_service.logs import configure_logging
from login_service.tracing import (
    NoRootDatabaseSpans,
    TracingConfig,
    build_tracer_provider,
    current_trace_context,
    stored_trace_context,
    tracing_config,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider(sampler=NoRootDatabaseSpans(ALWAYS_ON))


def test_tracing_is_off_unless_an_otel_variable_asks_for_it() -> None:
    assert tracing_config({}) is None
    assert tracing_config({"OTEL_SERVICE_NAME": "login-api", "OTEL_TRACES_SAMPLER": "x"}) is None
    assert tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}) is None  # compose's unset
    assert tracing_config({"OTEL_TRACES_EXPORTER": "none"}) is None
    assert (
        tracing_config(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
        )
        is None
    )


def test_an_endpoint_turns_on_otlp_over_http_to_its_traces_path() -> None:
    assert tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}) == (
        TracingConfig(exporters=("otlp",), otlp_endpoint="http://collector:4318/v1/traces")
    )
    traces_endpoint = "http://collector:4318/custom"
    config = tracing_config({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces_endpoint})
    assert config == TracingConfig(exporters=("otlp",), otlp_endpoint=traces_endpoint)
    assert tracing_config({"OTEL_TRACES_EXPORTER": "otlp,console"}) == TracingConfig(
        exporters=("otlp", "console"), otlp_endpoint="http://localhost:4318/v1/traces"
    )


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_an_exporter_or_protocol_the_service_lacks_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="OTEL_"):
        tracing_config(env)


def test_the_process_is_named_by_otel_service_name_else_by_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = TracingConfig(exporters=(), otlp_endpoint="")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    named = build_tracer_provider(config, "login-api")
    assert named.resource.attributes["service.name"] == "login-api"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "login-api-eu")
    renamed = build_tracer_provider(config, "login-api")
    assert renamed.resource.attributes["service.name"] == "login-api-eu"


def test_outside_a_trace_nothing_is_stored_with_an_event() -> None:
    assert current_trace_context() == {}


def test_the_stored_traceparent_is_the_active_span_and_continues_as_its_child(
    provider: TracerProvider,
) -> None:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /v1/auth/login") as login:
        stored = current_trace_context()
    assert set(stored) == {"traceparent"}
    assert stored["traceparent"].split("-")[1] == format(login.get_span_context().trace_id, "032x")

    with tracer.start_as_current_span(
        "outbox publish", context=stored_trace_context(stored)
    ) as publish:
        pass
    parent = publish.parent  # type: ignore[attr-defined]
    assert parent is not None
    assert parent.span_id == login.get_span_context().span_id
    assert publish.get_span_context().trace_id == login.get_span_context().trace_id


@pytest.mark.parametrize(
    "stored",
    [None, {}, {"traceparent": 42}, {"traceparent": "not-a-traceparent"}, "00-abc", ["x"]],
)
def test_an_entry_without_a_usable_traceparent_starts_a_new_trace(stored: object) -> None:
    context = stored_trace_context(stored)
    assert not get_current_span(context).get_span_context().is_valid


def test_the_caller_baggage_is_not_carried_with_an_event(provider: TracerProvider) -> None:
    stored = stored_trace_context(
        {"traceparent": TRACEPARENT, "tracestate": "bank=1", "baggage": "user=someone"}
    )
    with provider.get_tracer("test").start_as_current_span("publish", context=stored):
        carried = current_trace_context()
    assert set(carried) == {"traceparent", "tracestate"}
    assert carried["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]


def test_a_database_command_outside_a_trace_is_dropped_inside_one_kept(
    provider: TracerProvider,
) -> None:
    sampler = provider.sampler
    root_client = sampler.should_sample(None, 1, "login.find", SpanKind.CLIENT)
    root_server = sampler.should_sample(None, 1, "POST /v1/auth/login", SpanKind.SERVER)
    assert root_client.decision is Decision.DROP
    assert root_server.decision is Decision.RECORD_AND_SAMPLE
    with provider.get_tracer("test").start_as_current_span("request"):
        inside = sampler.should_sample(None, 1, "login.find", SpanKind.CLIENT)
    assert inside.decision is Decision.RECORD_AND_SAMPLE


def test_log_lines_name_the_active_span_and_only_then(
    provider: TracerProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json"), trace_ids=True)
    log = structlog.get_logger("login_service.http")
    try:
        log.info("outside")
        with provider.get_tracer("test").start_as_current_span("request") as span:
            log.info("inside")
    finally:
        configure_logging(Settings(log_format="json"))
    outside, inside = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert "trace_id" not in outside
    assert "span_id" not in outside
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")


def test_without_tracing_the_log_processor_is_not_installed(
    provider: TracerProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json"))
    with provider.get_tracer("test").start_as_current_span("request"):
        structlog.get_logger("login_service.http").info("inside")
    line: dict[str, Any] = json.loads(capsys.readouterr().err)
    assert "trace_id" not in line
