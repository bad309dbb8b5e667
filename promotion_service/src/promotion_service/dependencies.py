"""FastAPI dependencies, as ``Annotated`` aliases so routes read like prose."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from promotion_service.auth.tokens import Principal
from promotion_service.container import Services
from promotion_service.errors import NotAuthenticated, ServiceStarting

_bearer = HTTPBearer(auto_error=False, description="Access token from the login service")


async def get_services(request: Request) -> Services:
    """The instance's services; 503 `starting` until its start has built them."""
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request.
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ServiceStarting
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_current_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller named by a valid bearer token; a missing one is a 401 before anything
    else is asked."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated
    services = await get_services(request)
    principal = await services.token_verifier.verify(credentials.credentials)
    request.state.account_id = principal.account_id
    return principal


CurrentAccount = Annotated[Principal, Depends(get_current_account)]
