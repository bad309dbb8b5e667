"""FastAPI dependency: `CurrentAccount` is the verified caller of a route."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from promotion_service.auth.tokens import Principal, TokenVerifier
from promotion_service.container import services
from promotion_service.errors import NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="Access token from the login service")


async def current_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated
    verifier: TokenVerifier = (await services(request)).token_verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.account_id = principal.account_id
    return principal


CurrentAccount = Annotated[Principal, Depends(current_account)]
