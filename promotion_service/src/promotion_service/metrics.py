"""Prometheus metrics of the API, in a registry owned by the app (one per app instance), and
the MongoDB command counter that the API and the consumer both put on their clients.

With several Uvicorn workers, ``python -m promotion_service`` puts prometheus-client in its
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to files in
that directory and ``/metrics``, whichever worker answers, reports the sum over all workers.
"""

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pymongo import monitoring

from promotion_service.build_info import BuildInfo

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# From a primary-key read on a warm server to a transaction waiting behind others.
MONGODB_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class CampaignFill:
    """A campaign's slots, read from MongoDB when scraped (the same in every replica)."""

    campaign: str
    claimed: int
    total: int


class _CampaignCollector(Collector):
    def __init__(self, campaigns: Sequence[CampaignFill]) -> None:
        self._campaigns = campaigns

    def collect(self) -> Iterator[GaugeMetricFamily]:
        claimed = GaugeMetricFamily(
            "promotion_campaign_slots_claimed",
            "Slots of the campaign already given to a first login (read from MongoDB).",
            labels=["campaign"],
        )
        total = GaugeMetricFamily(
            "promotion_campaign_slots_total",
            "Slots the campaign has in all (read from MongoDB).",
            labels=["campaign"],
        )
        for fill in self._campaigns:
            claimed.add_metric([fill.campaign], fill.claimed)
            total.add_metric([fill.campaign], fill.total)
        yield claimed
        yield total


class MongoCommandCounter(monitoring.CommandListener):
    """Counts every MongoDB command the process starts, by command name, and times and
    judges each one that ends.

    It shows what an event or a request costs the database (a benchmark reads it; a test
    proves the fast path writes nothing) and how the database answers (latency and errors
    by command, for alerts and the dashboard). The ``command`` label is the command's name
    (find, insert, update, commitTransaction, ...): a short, fixed set that the service's
    own code decides, never a value from a request.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.commands = Counter(
            "mongodb_commands_total",
            "MongoDB commands started by this process, by command name.",
            ["command"],
            registry=registry,
        )
        self.duration = Histogram(
            "mongodb_command_duration_seconds",
            "Time from sending a MongoDB command to its answer (success or failure), by name.",
            ["command"],
            registry=registry,
            buckets=MONGODB_DURATION_BUCKETS,
        )
        self.failures = Counter(
            "mongodb_command_failures_total",
            "MongoDB commands that failed (an error answer or a network error), by name.",
            ["command"],
            registry=registry,
        )

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.labels(command=event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.duration.labels(command=event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.duration.labels(command=event.command_name).observe(event.duration_micros / 1e6)
        self.failures.labels(command=event.command_name).inc()


class ApiMetrics:
    """Counters and histograms the API updates; exposed at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.mongo_commands = MongoCommandCounter(self.registry)
        # Each worker fetches and caches the keys on its own; across workers the newest
        # fetch is what the instance can still verify with ("max"). Age = time() - this.
        self.jwks_fetched = Gauge(
            "promotion_jwks_keys_fetched_timestamp_seconds",
            "When the cached JWKS keys were last fetched successfully (Unix time; 0: not yet).",
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.http_requests = Counter(
            "promotion_http_requests_total",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "promotion_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ["method", "route"],
            registry=self.registry,
        )

    def exposition(self, campaigns: Sequence[CampaignFill] = ()) -> bytes:
        """The text exposition: this process's registry, or every worker's files in
        multiprocess mode, then the gauges of this scrape: the build, and the campaigns
        when they could be read."""
        directory = os.environ.get(MULTIPROCESS_DIR_ENV)
        if directory:
            every_worker = CollectorRegistry()
            MultiProcessCollector(every_worker, path=directory)  # type: ignore[no-untyped-call]
            text = generate_latest(every_worker)
        else:
            text = generate_latest(self.registry)
        now = CollectorRegistry(auto_describe=False)
        now.register(BuildInfo())
        if campaigns:
            now.register(_CampaignCollector(campaigns))
        return text + generate_latest(now)


@contextmanager
def shared_metrics_directory(workers: int) -> Iterator[Path | None]:
    """Prepare prometheus-client's multiprocess mode for the workers about to start.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is created if missing and emptied of the
    previous run's value files (a stale file would be added to the new run's counters).
    Without one, several workers share a private temporary directory, removed on exit; a
    single worker keeps its metrics in memory. Set before the workers start, so each one
    imports prometheus-client in multiprocess mode.
    """
    if configured := os.environ.get(MULTIPROCESS_DIR_ENV):
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
    elif workers > 1:
        with tempfile.TemporaryDirectory(prefix="promotion-metrics-") as private:
            os.environ[MULTIPROCESS_DIR_ENV] = private
            try:
                yield Path(private)
            finally:
                del os.environ[MULTIPROCESS_DIR_ENV]
    else:
        yield None
