"""Counters read from the services' /metrics text."""

from benchmarks.load import LoadResult, generator_bound
from benchmarks.meter import (
    COMMANDS_COUNTER,
    IdleRates,
    Reading,
    counter_per_op,
    counter_total,
    split_counter,
)

EXPOSITION = """\
# HELP mongodb_commands_total MongoDB commands sent, by command name.
# TYPE mongodb_commands_total counter
mongodb_commands_total{command="find"} 120.0
mongodb_commands_total{command="update"} 30.0
mongodb_commands_created{command="find"} 1.7e9
login_outbox_published_total 4.0
"""


def test_counter_total_sums_every_label_of_the_counter() -> None:
    assert counter_total(EXPOSITION, COMMANDS_COUNTER) == 150.0


def test_counter_total_accepts_the_name_without_its_total_suffix() -> None:
    assert counter_total(EXPOSITION, "login_outbox_published") == 4.0


def test_a_counter_the_service_does_not_export_is_none_not_zero() -> None:
    assert counter_total("login_http_requests_total 3\n", COMMANDS_COUNTER) is None


def test_commands_per_operation_subtract_the_idle_rate() -> None:
    before = Reading(at=0.0, cpu=0.0, counters={COMMANDS_COUNTER: 100.0})
    after = Reading(at=10.0, cpu=0.0, counters={COMMANDS_COUNTER: 330.0})
    idle = IdleRates(cpu=0.0, counters={COMMANDS_COUNTER: 3.0})  # a poller: 30 in 10 s
    assert counter_per_op(COMMANDS_COUNTER, before, after, idle, 100) == 2.0


def test_what_each_reading_costs_is_subtracted_once_not_as_a_rate() -> None:
    # Idle: a poller at 1 command/s, and 6 commands run by every scrape of /metrics.
    rate, per_reading = split_counter((6.0 + 1.0, 1.0), (6.0 + 2.0, 2.0))
    assert (rate, per_reading) == (1.0, 6.0)
    before = Reading(at=0.0, cpu=0.0, counters={COMMANDS_COUNTER: 0.0})
    after = Reading(at=60.0, cpu=0.0, counters={COMMANDS_COUNTER: 60.0 + 6.0 + 300.0})
    idle = IdleRates(cpu=0.0, counters={COMMANDS_COUNTER: rate}, per_reading={COMMANDS_COUNTER: 6})
    # 100 logins of 3 commands each over a long window: a rate of 7/s would give 0.
    assert counter_per_op(COMMANDS_COUNTER, before, after, idle, 100) == 3.0


def test_commands_per_operation_are_unknown_when_the_counter_is_missing() -> None:
    before = Reading(at=0.0, cpu=0.0, counters={})
    after = Reading(at=1.0, cpu=0.0, counters={})
    assert counter_per_op(COMMANDS_COUNTER, before, after, IdleRates(cpu=0.0), 10) is None


def _load(requests: int, seconds: float, generator_cpu: float) -> LoadResult:
    return LoadResult(requests, seconds, 0, 1.0, 2.0, generator_cpu)


def test_a_saturated_load_generator_refuses_the_reference() -> None:
    reason = generator_bound(_load(50_000, 5.0, 4.8))
    assert reason is not None and "saturated" in reason


def test_a_bare_rate_below_the_floor_refuses_the_reference() -> None:
    reason = generator_bound(_load(1_240, 5.0, 1.0))  # 248 req/s
    assert reason is not None and "below" in reason


def test_a_bare_rate_from_an_idle_generator_is_a_reference() -> None:
    assert generator_bound(_load(75_000, 5.0, 2.0)) is None
