"""Objects that hold secrets never show them in their repr (logs, tracebacks, errors)."""

from datetime import UTC, datetime

from login_service.accounts.repository import Account
from login_service.accounts.schemas import RegistrationRequest
from login_service.auth.schemas import LoginRequest, TokenResponse
from login_service.auth.service import LoginOutcome
from login_service.auth.tokens import IssuedToken
from login_service.guard.passwords import Verification

SECRET = "Very-Secret-Value-77"


def test_requests_accounts_and_tokens_keep_secrets_out_of_their_repr() -> None:
    objects = [
        LoginRequest(identifier="ada", password=SECRET),
        RegistrationRequest(
            username="ada.l", email="ada@example.com", phone="+442079460958", password=SECRET
        ),
        Account(
            id="1",
            username="ada",
            email="ada@example.com",
            phone="+442079460958",
            password_hash=SECRET,
            created_at=datetime.now(UTC),
        ),
        IssuedToken(access_token=SECRET, expires_in=1800, jti="j"),
        TokenResponse(access_token=SECRET, expires_in=1800),
        LoginOutcome(IssuedToken(access_token=SECRET, expires_in=1800, jti="j"), SECRET),
        Verification(ok=True, new_hash=SECRET),
    ]

    for value in objects:
        assert SECRET not in repr(value), type(value).__name__
        assert SECRET not in str(value), type(value).__name__
