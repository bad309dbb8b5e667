"""``promotion_build_info{version}``: which release a process runs, always 1.

Served by every process of the service (API and consumer), so a dashboard or an alert can
tell a rollout in progress (two versions at once) and join it to any other series.
"""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from promotion_service import __version__


class BuildInfo(Collector):
    """A constant gauge labelled with the package version."""

    def __init__(self, version: str = __version__) -> None:
        self._version = version

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "promotion_build_info",
            "The running release of the service (always 1).",
            labels=["version"],
        )
        info.add_metric([self._version], 1)
        yield info
