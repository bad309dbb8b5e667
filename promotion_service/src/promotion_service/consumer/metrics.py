"""Prometheus metrics of one consumer process, on their own registry."""

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from promotion_service.build_info import BuildInfo
from promotion_service.metrics import MongoCommandCounter

# The consume loop beats every PROMOTION_CONSUMER_HEARTBEAT_SECONDS; this many beats missed
# and the consumer is reported as not consuming.
MISSED_BEATS = 3


class Heartbeat(Collector):
    """``promotion_consumer_consuming``: 1 while the consume loop beats with its broker
    connection open, 0 before its first beat and once beats stop (judged when scraped, by
    the metrics thread, so a stuck loop shows as 0 rather than as its last value)."""

    def __init__(self, interval_seconds: float, clock: Callable[[], float]) -> None:
        self._stale_after = MISSED_BEATS * interval_seconds
        self._clock = clock
        self._last: float | None = None

    def beat(self) -> None:
        self._last = self._clock()

    @property
    def consuming(self) -> bool:
        return self._last is not None and self._clock() - self._last <= self._stale_after

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "promotion_consumer_consuming",
            "1 while the consume loop runs with its broker connection open (its heartbeat is "
            f"at most {MISSED_BEATS} intervals old), else 0.",
            value=1 if self.consuming else 0,
        )


class ConsumerMetrics:
    """Counters named after what an operator asks: consumed, granted, duplicates, dead-lettered."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        heartbeat_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.heartbeat = Heartbeat(heartbeat_seconds, clock)
        self.registry.register(self.heartbeat)
        self.registry.register(BuildInfo())
        self._declare_outcome_series()
        self._declare_retry_series()
        self.mongo_commands = MongoCommandCounter(self.registry)
        self.handle_seconds = Histogram(
            "promotion_event_handle_seconds",
            "Time from delivery to ack/reject of one message.",
            registry=self.registry,
        )

    def _declare_outcome_series(self) -> None:
        """What became of each event: handled, granted, a duplicate, or dead-lettered."""
        self.consumed = Counter(
            "promotion_events_consumed_total",
            "First-login events handled to an acknowledged outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.granted = Counter(
            "promotion_vouchers_granted_total",
            "Vouchers granted by this process.",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "promotion_events_duplicate_total",
            "Events acknowledged as duplicates (same event id, or account already holding one).",
            ["kind"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "promotion_events_dead_lettered_total",
            "Messages rejected to the dead-letter queue.",
            ["reason"],
            registry=self.registry,
        )

    def _declare_retry_series(self) -> None:
        """Work done again: claim transactions rerun, messages handed back for later."""
        self.claim_retries = Counter(
            "promotion_claim_transaction_retries_total",
            "Claim transactions run again after a transient error or a concurrent writer.",
            registry=self.registry,
        )
        self.message_retries = Counter(
            "promotion_event_retries_total",
            "Messages handed back for a later attempt after a failure.",
            registry=self.registry,
        )

    def serve(self, port: int, host: str) -> None:
        """Expose /metrics over HTTP on `host`:`port` (port 0 = off); the process's configured
        address (PROMOTION_HOST), as the API binds, never every interface by default."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
