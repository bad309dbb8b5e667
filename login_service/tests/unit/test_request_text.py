"""Request models accept only text that UTF-8 can encode, however they are built.

BSON and Argon2 need UTF-8: a lone surrogate must never get past request validation.
These pin that pydantic's ``str`` refuses one, from JSON and from Python alike.
"""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from login_service.accounts.schemas import RegistrationRequest
from login_service.auth.schemas import LoginRequest, TokenForm
from tests.support import account_payload

LONE_SURROGATE = "\ud800"


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (LoginRequest, {"identifier": "user1", "password": "x" * 12}, "identifier"),
        (LoginRequest, {"identifier": "user1", "password": "x" * 12}, "password"),
        (TokenForm, {"grant_type": "password", "username": "u", "password": "p"}, "username"),
        (TokenForm, {"grant_type": "password", "username": "u", "password": "p"}, "password"),
        *[
            (RegistrationRequest, account_payload(1), name)
            for name in ("username", "email", "phone", "password", "full_name")
        ],
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_field(
    model: type[BaseModel], body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({**body, field: f"{body[field]}{LONE_SURROGATE}"})
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]
