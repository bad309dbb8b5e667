"""Tracing's set-up: read from the process's OTEL_* variables, off unless one asks for it,
and a provider named after its process that exports as its configuration says."""

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from promotion_service import tracing
from promotion_service.tracing import (
    API_SERVICE_NAME,
    CONSUMER_SERVICE_NAME,
    TracingConfig,
    build_tracer_provider,
    start_tracing,
    tracing_config,
)

_TURNING_ON = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*_TURNING_ON, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tracing_is_off_unless_an_otel_variable_asks_for_it() -> None:
    assert tracing_config({}) is None
    assert tracing_config({"OTEL_SERVICE_NAME": "promotion-api"}) is None
    assert tracing_config({"OTEL_TRACES_EXPORTER": "none"}) is None
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    assert tracing_config(disabled) is None
    assert tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}) == (
        TracingConfig(exporters=("otlp",), otlp_endpoint="http://collector:4318/v1/traces")
    )


@pytest.mark.parametrize("app", [None, FastAPI()])
def test_start_tracing_reads_the_process_environment_and_stays_off_without_a_request(
    no_otel_variables: pytest.MonkeyPatch, app: FastAPI | None
) -> None:
    assert start_tracing(API_SERVICE_NAME, app) is None
    no_otel_variables.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    no_otel_variables.setenv("OTEL_SDK_DISABLED", "true")
    assert start_tracing(CONSUMER_SERVICE_NAME, app) is None
    assert tracing._provider is None


def test_start_tracing_refuses_an_exporter_the_service_lacks(
    no_otel_variables: pytest.MonkeyPatch,
) -> None:
    no_otel_variables.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        start_tracing(CONSUMER_SERVICE_NAME)


def test_the_process_is_named_by_otel_service_name_else_by_its_default(
    no_otel_variables: pytest.MonkeyPatch,
) -> None:
    config = TracingConfig(exporters=(), otlp_endpoint="")
    named = build_tracer_provider(config, CONSUMER_SERVICE_NAME)
    assert named.resource.attributes["service.name"] == CONSUMER_SERVICE_NAME
    no_otel_variables.setenv("OTEL_SERVICE_NAME", "promotion-consumer-eu")
    renamed = build_tracer_provider(config, CONSUMER_SERVICE_NAME)
    assert renamed.resource.attributes["service.name"] == "promotion-consumer-eu"


def test_the_provider_exports_to_the_processors_its_configuration_makes(
    no_otel_variables: pytest.MonkeyPatch,
) -> None:
    exporter = InMemorySpanExporter()
    asked: list[TracingConfig] = []

    def in_memory(config: TracingConfig) -> list[SpanProcessor]:
        asked.append(config)
        return [SimpleSpanProcessor(exporter)]

    no_otel_variables.setattr(tracing, "_processors", in_memory)
    config = TracingConfig(exporters=("console",), otlp_endpoint="")
    provider = build_tracer_provider(config, API_SERVICE_NAME)
    with provider.get_tracer("test").start_as_current_span("GET /v1/vouchers"):
        pass
    assert asked == [config]
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /v1/vouchers"
    assert span.resource.attributes["service.name"] == API_SERVICE_NAME
