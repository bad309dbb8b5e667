"""The consumer with tracing on, against real RabbitMQ and MongoDB: a message's traceparent
is continued by its handling and its grant; a message without one is handled as before."""

from collections.abc import Iterator

import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from promotion_service.config import Settings
from promotion_service.db import VOUCHERS, Database
from tests.factories import eventually, first_login_event, publish
from tests.integration.test_consumer_in_process import running_consumer

pytestmark = pytest.mark.integration

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    AioPikaInstrumentor().instrument(tracer_provider=provider)
    PymongoInstrumentor().instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        AioPikaInstrumentor().uninstrument()
        PymongoInstrumentor().uninstrument()


@pytest.fixture
async def channel(amqp_connection: AbstractConnection) -> AbstractChannel:
    return await amqp_connection.channel(publisher_confirms=True)


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    span_id = parent.context.span_id if parent.context is not None else None
    return [s for s in spans if s.parent is not None and s.parent.span_id == span_id]


async def test_a_traceparent_is_continued_and_its_absence_changes_nothing(
    settings: Settings, db: Database, channel: AbstractChannel, exported: InMemorySpanExporter
) -> None:
    traced, untraced = first_login_event(1), first_login_event(2)
    async with running_consumer(settings):
        with suppress_instrumentation():  # published as given: no header added on the way
            await publish(
                channel,
                settings,
                traced,
                headers={"x-event-version": 1, "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
            )
            await publish(channel, settings, untraced)

        async def both_granted() -> bool:
            return await db[VOUCHERS].count_documents({}) == 2

        await eventually(both_granted, timeout=30, what="both events granted")

    spans = exported.get_finished_spans()
    consumed = {
        s.attributes.get("messaging.message.id") if s.attributes else None: s
        for s in spans
        if s.kind is SpanKind.CONSUMER
    }
    continued, fresh = consumed[traced["event_id"]], consumed[untraced["event_id"]]
    assert continued.context is not None
    assert fresh.context is not None
    assert format(continued.context.trace_id, "032x") == TRACE_ID
    assert continued.parent is not None
    assert format(continued.parent.span_id, "016x") == PARENT_ID
    assert fresh.parent is None
    assert format(fresh.context.trace_id, "032x") != TRACE_ID
    for handling in (continued, fresh):
        grant = [s.name for s in _children(spans, handling) if s.kind is SpanKind.CLIENT]
        assert any(name.endswith(".commitTransaction") for name in grant), grant
