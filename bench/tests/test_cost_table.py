"""Ratios of service CPU to floor CPU, and the goal verdicts."""

import math

from benchmarks.results import (
    ROWS,
    UNDECIDED,
    Measured,
    OperationRow,
    RunResult,
    measurements,
    median_interval,
    median_round,
    verdict,
)

from .conftest import cost


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


def _measured(ratio: float, rounds: tuple[float, ...] = ()) -> Measured:
    return Measured(1_000, cost(ratio), 0.001, rounds)


def test_a_goal_is_met_only_when_every_size_meets_it() -> None:
    assert verdict([_measured(1.05), _measured(1.08)], 1.10) == "met"
    assert verdict([_measured(1.05), _measured(1.20)], 1.10) == "**not met**"


def test_a_missing_ratio_is_not_a_met_goal() -> None:
    assert verdict([_measured(1.0), Measured(1_000, None, 0.001)], 1.25) == "n/a"
    assert verdict([], 1.25) == "n/a"


def test_rows_without_a_goal_are_reported() -> None:
    assert verdict([_measured(3.0)], None) == "report"


def test_the_median_interval_is_the_order_statistics_that_cover_90_percent() -> None:
    five = median_interval([1.20, 1.05, 1.14, 1.11, 1.13])
    assert five is not None and (five.low, five.high) == (1.05, 1.20)
    assert round(five.coverage, 4) == 0.9375  # 1 - 2/32
    nine = median_interval([1.0, 1.9, 1.1, 1.2, 1.3, 1.4, 1.5, 0.1, 1.6])
    assert nine is not None and (nine.low, nine.high) == (1.0, 1.6)  # one dropped at each end
    assert round(nine.coverage, 4) == round(1 - 2 * 10 / 512, 4)
    assert median_interval([1.0, 1.1, 1.2, 1.3]) is None  # min-max covers 88%
    assert median_interval([1.0, float("nan"), 1.1, 1.2, 1.3]) is None


def test_paired_rows_are_judged_on_the_interval_of_their_median() -> None:
    below, spanning, above = (1.0, 1.02, 1.05, 1.08, 1.09), (1.0, 1.05, 1.06, 1.08, 1.2), (
        1.11, 1.12, 1.13, 1.15, 1.3)  # fmt: skip
    assert verdict([_measured(1.05, below), _measured(1.06, below)], 1.10) == "met"
    # A median under the goal whose interval spans it: this run cannot tell.
    assert verdict([_measured(1.06, spanning), _measured(1.05, below)], 1.10) == UNDECIDED
    assert verdict([_measured(1.13, above), _measured(1.06, spanning)], 1.10) == "**not met**"
    # Too few rounds for an interval at any size: the median alone decides.
    assert verdict([_measured(1.05, (1.0, 1.2)), _measured(1.06, below)], 1.10) == "met"


def test_only_paired_rows_carry_their_rounds(run_result: RunResult) -> None:
    login, context = (
        _row("successful non-first login"),
        _row("successful non-first login (context)"),
    )
    assert measurements(login, run_result)[0].rounds == tuple(
        run_result.sizes[0].round_ratios["login"]
    )
    assert measurements(context, run_result)[0].rounds == ()
    run_result.fast_path_ratios = [1.3, 1.2, 1.4]
    (beyond,) = measurements(_row("consumed event beyond the campaign"), run_result)
    assert beyond.rounds == (1.3, 1.2, 1.4)


def test_a_missing_floor_gives_no_ratio(run_result: RunResult) -> None:
    run_result.sizes[0].floors.pop("me_lean")
    first = measurements(_row("`GET /v1/accounts/me`"), run_result)[0]
    assert math.isnan(first.ratio)


def test_the_median_round_is_the_middle_ratio_and_skips_rounds_without_one() -> None:
    assert median_round([1.3, 1.0, 1.1]) == 2
    assert median_round([1.2, 1.0]) == 1  # the lower of two
    assert median_round([float("nan"), 1.4, 1.0]) == 2
    assert median_round([float("nan")]) is None
