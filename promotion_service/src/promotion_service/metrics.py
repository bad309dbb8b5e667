"""Metrics of the API across its Uvicorn workers.

With several workers, ``python -m promotion_service`` puts prometheus-client in its
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to files in
that directory and ``/metrics``, whichever worker answers, reports the sum over all workers.
"""

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from promotion_service.build_info import BuildInfo

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


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


def exposition(registry: CollectorRegistry, campaigns: Sequence[CampaignFill] = ()) -> bytes:
    """The text exposition of `registry`, or of every worker's files in multiprocess mode,
    then the gauges of this scrape: the build, and the campaigns when they could be read."""
    directory = os.environ.get(MULTIPROCESS_DIR_ENV)
    if directory:
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=directory)  # type: ignore[no-untyped-call]
        text = generate_latest(every_worker)
    else:
        text = generate_latest(registry)
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
