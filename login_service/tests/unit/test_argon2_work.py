"""A failure at an outdated hash is padded to the work of one at the current parameters."""

import pytest

from login_service.guard.argon2_work import Argon2Parameters, hash_parameters, padding

CURRENT = Argon2Parameters(19456, 3, 1)


@pytest.mark.parametrize(
    "outdated",
    [
        Argon2Parameters(19456, 2, 1),  # passes raised
        Argon2Parameters(9216, 3, 1),  # memory raised
        Argon2Parameters(12288, 2, 1),  # both
        Argon2Parameters(19456, 1, 1),
    ],
)
def test_an_outdated_verification_and_its_padding_do_the_current_work(
    outdated: Argon2Parameters,
) -> None:
    extra = padding(outdated, CURRENT)

    assert extra is not None
    assert outdated.work + extra.work == pytest.approx(CURRENT.work, abs=extra.time_cost)
    assert extra.memory_cost_kib <= CURRENT.memory_cost_kib


@pytest.mark.parametrize("outdated", [CURRENT, Argon2Parameters(65536, 1, 1)])
def test_a_hash_that_costs_as_much_or_more_gets_no_padding(outdated: Argon2Parameters) -> None:
    assert padding(outdated, CURRENT) is None


def test_the_parameters_are_read_from_the_hash_string() -> None:
    stored = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

    assert hash_parameters(stored) == Argon2Parameters(19456, 2, 1)
    assert hash_parameters("$2b$12$not-argon2") is None
    assert hash_parameters("") is None
