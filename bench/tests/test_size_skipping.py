"""Which account sizes a run skips: the login rounds must meter enough logins."""

import math

import pytest

from benchmarks.scenario import expected_update_rate


def test_one_size_measured_gives_its_rate() -> None:
    assert expected_update_rate([(1_000, 15.8)], 10_000) == 15.8


def test_a_falling_rate_is_carried_along_its_trend() -> None:
    expected = expected_update_rate([(1_000, 15.8), (10_000, 2.2)], 100_000)
    assert expected == pytest.approx(2.2 * 2.2 / 15.8)
    assert expected * 20 / 2 < 20  # a 20 s round would meter about 3 a side: the size is skipped


def test_a_rate_that_does_not_fall_is_kept_and_never_raised() -> None:
    assert expected_update_rate([(1_000, 900.0), (10_000, 900.0)], 100_000) == 900.0
    assert expected_update_rate([(1_000, 500.0), (10_000, 800.0)], 100_000) == 800.0


def test_no_rate_measured_stays_zero() -> None:
    assert expected_update_rate([(1_000, 15.8), (10_000, 0.0)], 100_000) == 0.0
    assert not math.isnan(expected_update_rate([(1_000, 0.0), (10_000, 2.2)], 100_000))
