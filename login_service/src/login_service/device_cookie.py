"""How a device token travels: the ``device`` cookie for browsers, a header for other clients."""

from fastapi import Response

DEVICE_COOKIE = "device"
DEVICE_TOKEN_HEADER = "X-Device-Token"  # noqa: S105 - a header name, not a secret
# Login (/v1/auth/...) reads the cookie and registration (/v1/accounts) reissues it: a
# registration that did not receive it would replace it with a token naming only the
# new account, and a shared browser would lose trust for the others.
DEVICE_COOKIE_PATH = "/v1"


def attach_device_token(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    """Send the token both ways: an HttpOnly, SameSite=Strict cookie and the header.

    ``secure`` is off in development only, where the service is reached over plain HTTP
    on localhost; production assumes TLS in front of the service.
    """
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=max_age,
        path=DEVICE_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.headers[DEVICE_TOKEN_HEADER] = token
