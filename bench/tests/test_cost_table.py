"""Ratios of service CPU to floor CPU, and the goal verdicts."""

import math

from benchmarks.cost_table import ROWS, measurements, verdict
from benchmarks.results import RunResult


def _row(key: str):  # type: ignore[no-untyped-def]
    return next(row for row in ROWS if row.key == key)


def test_every_operation_of_the_issue_has_one_row() -> None:
    assert [row.key for row in ROWS] == [
        "login", "login_lean", "first_login", "register", "register_lean", "me", "vouchers",
        "redeem", "beyond", "eligible",
    ]  # fmt: skip


def test_login_ratio_is_service_cpu_over_one_argon2_verification(run_result: RunResult) -> None:
    ratios = [item.ratio for item in measurements(_row("login"), run_result)]
    assert [round(value, 3) for value in ratios] == [1.1, 1.2]


def test_the_context_row_divides_the_service_login_by_the_lean_login(
    run_result: RunResult,
) -> None:
    ratios = [item.ratio for item in measurements(_row("login_lean"), run_result)]
    assert [round(value, 4) for value in ratios] == [round(33.0 / 32.0, 4), round(36.0 / 32.0, 4)]
    assert _row("login_lean").goal is None


def test_the_context_row_divides_the_service_registration_by_the_lean_one(
    run_result: RunResult,
) -> None:
    (first, _) = measurements(_row("register_lean"), run_result)
    assert math.isclose(first.ratio, 33.0 / 30.0)


def test_registration_is_divided_by_one_argon2_hash(run_result: RunResult) -> None:
    (first, _) = measurements(_row("register"), run_result)
    assert math.isclose(first.ratio, 33.0 / 31.0)


def test_reads_are_divided_by_the_lean_reference_doing_the_same_work(
    run_result: RunResult,
) -> None:
    (first, _) = measurements(_row("vouchers"), run_result)
    assert math.isclose(first.ratio, 1.5)


def test_consumer_rows_are_measured_once_against_the_bare_loop(run_result: RunResult) -> None:
    (only,) = measurements(_row("beyond"), run_result)
    assert only.accounts is None
    assert math.isclose(only.ratio, 1.2)


def test_a_goal_is_met_only_when_every_size_meets_it() -> None:
    assert verdict([1.10, 1.12], 1.15) == "met"
    assert verdict([1.10, 1.20], 1.15) == "**not met**"


def test_a_missing_ratio_is_not_a_met_goal() -> None:
    assert verdict([1.0, float("nan")], 1.25) == "n/a"
    assert verdict([], 1.25) == "n/a"


def test_rows_without_a_goal_are_reported() -> None:
    assert verdict([3.0], None) == "report"


def test_a_missing_floor_gives_no_ratio(run_result: RunResult) -> None:
    run_result.sizes[0].floors.pop("me")
    first = measurements(_row("me"), run_result)[0]
    assert math.isnan(first.ratio)
