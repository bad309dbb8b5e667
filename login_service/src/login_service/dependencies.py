"""FastAPI dependencies, as ``Annotated`` aliases so routes read like prose."""

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from login_service.accounts.repository import Account
from login_service.container import Services
from login_service.device_cookie import (
    DEVICE_COOKIE,
    DEVICE_TOKEN_HEADER,
    DEVICE_TOKEN_MODE_HEADER,
)
from login_service.errors import NotAuthenticated, ServiceStarting
from login_service.guard.client_address import client_address
from login_service.guard.device_tokens import DeviceToken

# auto_error=False: a missing token is our own 401 problem, not FastAPI's default.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


async def get_services(request: Request) -> Services:
    """The instance's services; 503 `starting` until its start has built them."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ServiceStarting
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_request_id(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


RequestId = Annotated[str | None, Depends(get_request_id)]


async def get_client_address(request: Request, services: ServicesDep) -> str:
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.getlist("x-forwarded-for"), services.settings.trusted_proxies or []
    )


ClientAddress = Annotated[str, Depends(get_client_address)]


async def get_device_token(
    services: ServicesDep,
    header: Annotated[
        str | None,
        Header(
            alias=DEVICE_TOKEN_HEADER,
            description="The device token of a client that keeps no cookies (as returned "
            "by registration and login); browsers send the `device` cookie instead.",
        ),
    ] = None,
    cookie: Annotated[str | None, Cookie(alias=DEVICE_COOKIE, include_in_schema=False)] = None,
) -> DeviceToken | None:
    """The client's first valid device token, header then cookie (else it is untrusted).

    Both are read, so a stale header left by a client never hides a valid cookie.
    """
    tokens = services.device_tokens
    return tokens.read(header) or tokens.read(cookie)


PresentedDevice = Annotated[DeviceToken | None, Depends(get_device_token)]


async def get_device_token_in_header(
    request: Request,
    mode: Annotated[
        str | None,
        Header(
            alias=DEVICE_TOKEN_MODE_HEADER,
            description="`header`: return the device token in the `X-Device-Token` response "
            "header too, for a client that keeps no cookies (send it from the first "
            "registration or login on; a request carrying `X-Device-Token` gets it anyway). "
            "Browsers leave it out: the HttpOnly `device` cookie keeps the token from page "
            "scripts.",
        ),
    ] = None,
) -> bool:
    """Whether the response carries the device token in a header: asked for, or the client
    already sends one that way."""
    asked = mode is not None and mode.strip().lower() == "header"
    return asked or DEVICE_TOKEN_HEADER in request.headers


DeviceTokenInHeader = Annotated[bool, Depends(get_device_token_in_header)]


async def get_current_account(
    services: ServicesDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Account:
    """The account named by a valid bearer token; any problem is a 401."""
    if not token:
        raise NotAuthenticated
    claims = services.access_tokens.verify(token)
    return await services.accounts.get(claims["sub"])


CurrentAccount = Annotated[Account, Depends(get_current_account)]
