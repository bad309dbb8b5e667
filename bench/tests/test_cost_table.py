"""Ratios of service CPU to floor CPU, and the goal verdicts."""

import math

from benchmarks.results import ROWS, OperationRow, RunResult, measurements, median_round, verdict


def _row(label: str) -> OperationRow:
    return next(row for row in ROWS if row.label == label)


def test_every_operation_has_its_row_and_the_password_ones_a_context_row() -> None:
    assert [(row.key, row.floor) for row in ROWS] == [
        ("login", "lean"), ("login", "verify"), ("first_login", "verify"), ("register", "lean"),
        ("register", "hash"), ("me", "lean"), ("vouchers", "lean"), ("redeem", "lean"),
        ("beyond", "bare_loop"), ("eligible", "bare_loop"),
    ]  # fmt: skip


def test_the_login_is_divided_by_the_lean_login_with_the_goal_of_1_10(
    run_result: RunResult,
) -> None:
    row = _row("successful non-first login")
    ratios = [item.ratio for item in measurements(row, run_result)]
    assert [round(value, 4) for value in ratios] == [round(33.0 / 32.0, 4), round(36.0 / 32.0, 4)]
    assert row.goal == 1.10


def test_the_context_row_divides_the_login_by_one_argon2_verification(
    run_result: RunResult,
) -> None:
    row = _row("successful non-first login (context)")
    ratios = [item.ratio for item in measurements(row, run_result)]
    assert [round(value, 3) for value in ratios] == [1.1, 1.2]
    assert row.goal is None


def test_registration_is_divided_by_the_lean_registration_and_by_one_hash(
    run_result: RunResult,
) -> None:
    (lean, _) = measurements(_row("registration"), run_result)
    assert math.isclose(lean.ratio, 33.0 / 30.0)
    (argon2, _) = measurements(_row("registration (context)"), run_result)
    assert math.isclose(argon2.ratio, 33.0 / 31.0)


def test_reads_are_divided_by_the_lean_app_doing_the_same_work(run_result: RunResult) -> None:
    (first, _) = measurements(_row("`GET /v1/vouchers`"), run_result)
    assert math.isclose(first.ratio, 1.5)


def test_consumer_rows_are_measured_once_against_the_bare_loop(run_result: RunResult) -> None:
    (only,) = measurements(_row("consumed event beyond the campaign"), run_result)
    assert only.accounts is None
    assert math.isclose(only.ratio, 1.2)


def test_a_goal_is_met_only_when_every_size_meets_it() -> None:
    assert verdict([1.05, 1.08], 1.10) == "met"
    assert verdict([1.05, 1.20], 1.10) == "**not met**"


def test_a_missing_ratio_is_not_a_met_goal() -> None:
    assert verdict([1.0, float("nan")], 1.25) == "n/a"
    assert verdict([], 1.25) == "n/a"


def test_rows_without_a_goal_are_reported() -> None:
    assert verdict([3.0], None) == "report"


def test_a_missing_floor_gives_no_ratio(run_result: RunResult) -> None:
    run_result.sizes[0].floors.pop("me_lean")
    first = measurements(_row("`GET /v1/accounts/me`"), run_result)[0]
    assert math.isnan(first.ratio)


def test_the_median_round_is_the_middle_ratio_and_skips_rounds_without_one() -> None:
    assert median_round([1.3, 1.0, 1.1]) == 2
    assert median_round([1.2, 1.0]) == 1  # the lower of two
    assert median_round([float("nan"), 1.4, 1.0]) == 2
    assert median_round([float("nan")]) is None
