"""How a device token travels: the ``device`` cookie for browsers, a header for other clients."""

from fastapi import Response

DEVICE_COOKIE = "device"
DEVICE_TOKEN_HEADER = "X-Device-Token"  # noqa: S105 - a header name, not a secret
# A client that keeps no cookies asks for the token in a header with this one (`header`).
DEVICE_TOKEN_MODE_HEADER = "X-Device-Token-Mode"  # noqa: S105 - a header name, not a secret
# Login (/v1/auth/...) reads the cookie and registration (/v1/accounts) reissues it: a
# registration that did not receive it would replace it with a token naming only the
# new account, and a shared browser would lose trust for the others.
DEVICE_COOKIE_PATH = "/v1"


def attach_device_token(
    response: Response, token: str, *, secure: bool, max_age: int, in_header: bool
) -> None:
    """Send the token as an HttpOnly, SameSite=Strict cookie, and ``in_header`` too.

    The header goes only to clients that ask for it: in a browser, scripts of the page
    could read it, which is what the HttpOnly cookie keeps from them. ``secure`` is off
    in development only, where the service is reached over plain HTTP on localhost;
    production assumes TLS in front of the service.
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
    if in_header:
        response.headers[DEVICE_TOKEN_HEADER] = token
