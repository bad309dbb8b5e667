"""Prometheus metrics, in a registry owned by the app (one per app instance).

With several Uvicorn workers, ``python -m login_service`` puts prometheus-client in its
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to files in
that directory and ``/metrics``, whichever worker answers, reports the sum over all workers.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pymongo import monitoring

from login_service import __version__

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

LOGIN_OUTCOMES = ("success", "invalid", "throttled", "shed")
# The scopes of the login budgets (container.build_login_guard) and ``in_flight``: every
# value ``login_throttle_refusals_total{rule}`` can take, created at 0 so rates start at once.
THROTTLE_RULES = ("identifier", "client", "account", "account_day", "in_flight")
# From a primary-key read on a warm server to a transaction waiting behind others.
MONGODB_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """Outbox events not yet confirmed by the broker (read from MongoDB when scraped)."""

    pending: int
    oldest_age_seconds: float


class _BuildInfo(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "login_build_info", "The running release of the service (always 1).", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info


class _BacklogCollector(Collector):
    def __init__(self, backlog: OutboxBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "login_outbox_pending_events",
            "First-login events in the outbox not yet confirmed by the broker.",
            value=self._backlog.pending,
        )
        yield GaugeMetricFamily(
            "login_outbox_oldest_pending_age_seconds",
            "Age of the oldest unconfirmed outbox event (0 when none).",
            value=self._backlog.oldest_age_seconds,
        )


class MongoCommandCounter(monitoring.CommandListener):
    """Counts every MongoDB command the service sends, by command name, and times and judges
    each one that ends.

    Operators see the database work per request (``mongodb_commands_total`` against
    ``login_http_requests_total``) and how the database answers (latency and failures by
    command); tests hold the login path to its round trips. The ``command`` label is the
    command's name: a short set the service's own code decides, never a request's value.
    """

    def __init__(self, metrics: "ServiceMetrics") -> None:
        self._started = metrics.mongodb_commands
        self._duration = metrics.mongodb_duration
        self._failures = metrics.mongodb_failures

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self._started.labels(event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._duration.labels(event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._duration.labels(event.command_name).observe(event.duration_micros / 1e6)
        self._failures.labels(event.command_name).inc()


class ServiceMetrics:
    """Counters and histograms the service updates; exposed at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._declare_http_series()
        self._declare_login_series()
        self._declare_account_series()
        self._declare_mongodb_series()
        self._declare_outbox_series()

    def _declare_http_series(self) -> None:
        """Requests and their durations, by route template."""
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

    def _declare_login_series(self) -> None:
        """Logins by outcome, the throttle's refusals by rule, and the Argon2 work they cost;
        every outcome and rule starts at 0."""
        self.logins = Counter(
            "login_attempts_total",
            "Login attempts by outcome (success, invalid, throttled; shed: refused with 503 "
            "because the process's verification queue was full).",
            ["outcome"],
            registry=self.registry,
        )
        self.throttle_refusals = Counter(
            "login_throttle_refusals_total",
            "Logins refused with 429 by the throttle, by the rule that refused: a budget of "
            "failures (identifier, client, account, account_day) or in_flight (no place "
            "among the attempts in flight freed in time).",
            ["rule"],
            registry=self.registry,
        )
        for outcome in LOGIN_OUTCOMES:
            self.logins.labels(outcome)
        for rule in THROTTLE_RULES:
            self.throttle_refusals.labels(rule)
        self.password_verifications = Counter(
            "login_password_verifications_total",
            "Argon2 runs of password checks by parameters: verifications, and the padding of "
            "a failure at a hash of cheaper parameters.",
            ["parameters"],
            registry=self.registry,
        )

    def _declare_account_series(self) -> None:
        """Accounts created and first logins recorded."""
        self.registrations = Counter(
            "login_registrations_total", "Accounts created.", registry=self.registry
        )
        self.first_logins = Counter(
            "login_first_logins_total", "First logins recorded.", registry=self.registry
        )

    def _declare_mongodb_series(self) -> None:
        """MongoDB commands by name: sent, timed and failed (see ``MongoCommandCounter``)."""
        self.mongodb_commands = Counter(
            "mongodb_commands_total",
            "MongoDB commands sent, by command name (find, update, commitTransaction, ...).",
            ["command"],
            registry=self.registry,
        )
        self.mongodb_duration = Histogram(
            "mongodb_command_duration_seconds",
            "Time from sending a MongoDB command to its answer (success or failure), by name.",
            ["command"],
            registry=self.registry,
            buckets=MONGODB_DURATION_BUCKETS,
        )
        self.mongodb_failures = Counter(
            "mongodb_command_failures_total",
            "MongoDB commands that failed (an error answer or a network error), by name.",
            ["command"],
            registry=self.registry,
        )

    def _declare_outbox_series(self) -> None:
        """The relay's publishes of first-login events: confirmed and failed."""
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

    def exposition(self, backlog: OutboxBacklog | None = None) -> bytes:
        """The text exposition: this process's counters, or every worker's in multiprocess
        mode, followed by the build and the outbox backlog when it could be read."""
        directory = os.environ.get(MULTIPROCESS_DIR_ENV)
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            text = generate_latest(registry)
        else:
            text = generate_latest(self.registry)
        gauges = CollectorRegistry()
        gauges.register(_BuildInfo())
        if backlog is not None:
            gauges.register(_BacklogCollector(backlog))
        return text + generate_latest(gauges)
