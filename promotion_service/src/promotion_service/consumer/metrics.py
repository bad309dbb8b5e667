"""Prometheus metrics of one consumer process, on their own registry."""

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from promotion_service.mongo_metrics import MongoCommandCounter


class ConsumerMetrics:
    """Counters named after what an operator asks: consumed, granted, duplicates, dead-lettered."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
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
        self.mongo_commands = MongoCommandCounter(self.registry)
        self.handle_seconds = Histogram(
            "promotion_event_handle_seconds",
            "Time from delivery to ack/reject of one message.",
            registry=self.registry,
        )

    def serve(self, port: int, host: str) -> None:
        """Expose /metrics over HTTP on `host`:`port` (port 0 = off); the process's configured
        address (PROMOTION_HOST), as the API binds, never every interface by default."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
