"""HTTP shapes of accounts. Validation yields 422 problems before anything is written."""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator

from login_service.accounts import normalize
from login_service.encodable_text import Utf8Text
from login_service.guard.password_policy import PASSWORD_MAX_LENGTH, password_problems

_EXAMPLE_ACCOUNT: dict[str, JsonValue] = {
    "id": "0b6c3f0e-8f4e-4d43-9a55-0f3b4c2d1e7a",
    "username": "ada.lovelace",
    "email": "ada@example.com",
    "phone": "+442079460958",
    "full_name": "Ada Lovelace",
    "birthday": "1990-12-10",
    "created_at": "2026-11-25T22:00:00Z",
    "first_login_at": None,
    "first_login_order": None,
}


class RegistrationRequest(BaseModel):
    """A new account. Username, email and phone are each unique after normalisation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "ada.lovelace",
                    "email": "Ada@Example.com",
                    "phone": "+44 20 7946 0958",
                    "password": "correct horse battery staple",
                    "full_name": "Ada Lovelace",
                    "birthday": "1990-12-10",
                }
            ]
        },
    )

    username: Annotated[Utf8Text, Field(max_length=64, description=normalize.USERNAME_RULE)]
    email: Annotated[Utf8Text, Field(max_length=normalize.EMAIL_MAX)]
    phone: Annotated[
        Utf8Text,
        Field(
            max_length=normalize.PHONE_INPUT_MAX,
            description="International format (+44 20 7946 0958), or national format "
            "when the service has a default region",
        ),
    ]
    password: Annotated[
        Utf8Text,
        Field(
            max_length=PASSWORD_MAX_LENGTH * 4,
            repr=False,
            description="12 to 128 characters; must not contain the username or email.",
        ),
    ]
    full_name: Annotated[Utf8Text | None, Field(max_length=400)] = None
    birthday: date | None = None

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return normalize.normalize_username(value)[0]

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize.normalize_email(value)[0]

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        # Parsed to E.164 by the service, which knows the configured default region.
        return normalize.check_phone_text(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str, info: ValidationInfo) -> str:
        problems = password_problems(
            value,
            username=info.data.get("username", ""),
            email=info.data.get("email", ""),
        )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str | None) -> str | None:
        return None if value is None else normalize.normalize_full_name(value)

    @field_validator("birthday")
    @classmethod
    def _birthday(cls, value: date | None) -> date | None:
        if value is None:
            return None
        return normalize.check_birthday(value, datetime.now(UTC).date())


class AccountOut(BaseModel):
    """An account as its owner sees it. Never carries the password or its hash."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_ACCOUNT]})

    id: str
    username: str
    email: str
    phone: str
    full_name: str | None = None
    birthday: date | None = None
    created_at: datetime
    first_login_at: datetime | None = Field(
        default=None, description="When the account first logged in (UTC); null before that."
    )
    first_login_order: int | None = Field(
        default=None, description="1 for the first account ever to log in, 2 for the next, …"
    )
