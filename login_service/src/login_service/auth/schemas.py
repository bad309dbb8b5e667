"""HTTP shapes of authentication."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from login_service.encodable_text import Utf8Text

IDENTIFIER_MAX = 320
# Longer than any password registration accepts (128 characters, 4 bytes each at most).
LOGIN_PASSWORD_MAX = 1024


class LoginRequest(BaseModel):
    """Credentials: the identifier is the username, the email or the phone number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"identifier": "ada@example.com", "password": "correct horse battery staple"}
            ]
        },
    )

    identifier: Annotated[Utf8Text, Field(min_length=1, max_length=IDENTIFIER_MAX)]
    password: Annotated[Utf8Text, Field(min_length=1, max_length=LOGIN_PASSWORD_MAX, repr=False)]


class TokenForm(BaseModel):
    """OAuth2 password grant form (RFC 6749 section 4.3). Every field is checked by the
    endpoint itself, so that a missing one is an OAuth2 ``invalid_request``."""

    model_config = ConfigDict(extra="ignore")

    grant_type: Utf8Text | None = Field(default=None, description="`password`, required.")
    username: Utf8Text | None = Field(
        default=None, description="Any identifier: username, email or phone. Required."
    )
    password: Utf8Text | None = Field(default=None, repr=False, description="Required.")
    scope: Utf8Text | None = Field(default=None, description="Ignored: tokens carry no scopes.")


class TokenResponse(BaseModel):
    """An access token (RFC 6749 section 5.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJSUzI1NiIs...",
                    "token_type": "bearer",
                    "expires_in": 1800,
                }
            ]
        }
    )

    access_token: Annotated[str, Field(repr=False)]
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class JsonWebKeySet(BaseModel):
    """Public keys that verify this service's tokens (RFC 7517)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "RSA",
                            "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                            "alg": "RS256",
                            "use": "sig",
                            "n": "0vx7agoebGcQSuuPiLJXZpt...",
                            "e": "AQAB",
                        }
                    ]
                }
            ]
        }
    )

    keys: list[dict[str, Any]]
