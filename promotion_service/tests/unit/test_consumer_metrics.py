"""The consumer's own series: consuming or not (from the consume loop's heartbeat), the build."""

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from promotion_service import __version__
from promotion_service.consumer.metrics import MISSED_BEATS, ConsumerMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _scrape(metrics: ConsumerMetrics) -> dict[str, tuple[dict[str, str], float]]:
    text = generate_latest(metrics.registry).decode()
    return {
        sample.name: (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_consuming_follows_the_heartbeat_and_drops_once_beats_stop() -> None:
    clock = Clock()
    metrics = ConsumerMetrics(heartbeat_seconds=5.0, clock=clock)

    never_beat = _scrape(metrics)["promotion_consumer_consuming"][1]
    metrics.heartbeat.beat()
    just_beat = _scrape(metrics)["promotion_consumer_consuming"][1]
    clock.now += MISSED_BEATS * 5.0
    at_the_bound = _scrape(metrics)["promotion_consumer_consuming"][1]
    clock.now += 0.1
    stale = _scrape(metrics)["promotion_consumer_consuming"][1]
    metrics.heartbeat.beat()
    again = _scrape(metrics)["promotion_consumer_consuming"][1]

    assert (never_beat, just_beat, at_the_bound, stale, again) == (0, 1, 1, 0, 1)


def test_the_consumer_reports_its_build() -> None:
    assert _scrape(ConsumerMetrics())["promotion_build_info"] == ({"version": __version__}, 1.0)
