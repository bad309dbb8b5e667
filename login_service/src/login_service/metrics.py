"""Prometheus metrics of one process, in a registry owned by the app (one per app instance)."""

from prometheus_client import CollectorRegistry, Counter, Histogram


class ServiceMetrics:
    """Counters and histograms the service updates; exposed at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "login_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "login_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.logins = Counter(
            "login_attempts_total",
            "Login attempts by outcome (success, invalid, throttled).",
            ["outcome"],
            registry=self.registry,
        )
        self.registrations = Counter(
            "login_registrations_total", "Accounts created.", registry=self.registry
        )
        self.first_logins = Counter(
            "login_first_logins_total", "First logins recorded.", registry=self.registry
        )
        self.outbox_published = Counter(
            "login_outbox_published_total",
            "Outbox events confirmed by the broker.",
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "login_outbox_publish_failures_total",
            "Failed outbox publish attempts (retried later).",
            registry=self.registry,
        )
