"""`python -m promotion_service.consumer`: one consumer process; SIGTERM/SIGINT stop it cleanly."""

import asyncio
import signal
import sys

import structlog

from promotion_service.config import Settings, settings_or_exit
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.logs import configure_logging
from promotion_service.tracing import CONSUMER_SERVICE_NAME, start_tracing


async def serve(settings: Settings) -> None:
    """Run one consumer until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    metrics = ConsumerMetrics(heartbeat_seconds=settings.consumer_heartbeat_seconds)
    metrics.serve(settings.consumer_metrics_port, host=settings.host)
    # Before the consumer makes its database client, which the PyMongo instrumentation
    # must see made.
    tracer_provider = start_tracing(CONSUMER_SERVICE_NAME)
    if tracer_provider is not None:
        configure_logging(json_logs=settings.json_logs, level=settings.log_level, trace_ids=True)
    try:
        await FirstLoginConsumer(settings, metrics=metrics).run(stop)
    finally:
        if tracer_provider is not None:
            tracer_provider.shutdown()  # exports the last spans


def main() -> int:
    settings = settings_or_exit()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    try:
        settings.check_consumer_safe_for_production()
        settings.check_trusted_publisher()
    except ValueError as refusal:
        structlog.get_logger("promotion_service.consumer").error(
            "refusing_to_start", reason=str(refusal)
        )
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
