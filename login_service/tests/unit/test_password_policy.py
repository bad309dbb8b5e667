"""The password policy: length and obvious guesses, no composition rules."""

import pytest

from login_service.guard.password_policy import password_problems


def test_a_long_passphrase_is_accepted() -> None:
    assert password_problems("correct horse battery staple", username="ada", email="ada@x.io") == []


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("x" * 120 + "abcdefghij", "at most 128"),
        ("my name is ADA.lovelace!", "username"),
        ("lovelace-rocks-2026", "email"),
        ("password1234", "too easy"),
        ("abababababababab", "too easy"),
        ("tab\tinside-password", "control"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    problems = password_problems(password, username="ada.lovelace", email="lovelace@example.com")
    assert any(reason in problem for problem in problems)
    assert all(password not in problem for problem in problems)
