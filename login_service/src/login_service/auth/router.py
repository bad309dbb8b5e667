"""Login, OAuth2 token and JWKS routes."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from login_service.auth.schemas import JsonWebKeySet, LoginRequest, TokenForm, TokenResponse
from login_service.auth.tokens import IssuedToken
from login_service.dependencies import ClientAddress, RequestId, ServicesDep
from login_service.problems import problem_responses

router = APIRouter(tags=["auth"])


def _token_response(response: Response, issued: IssuedToken) -> TokenResponse:
    # RFC 6749 section 5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post(
    "/v1/auth/login",
    operation_id="login",
    response_model=TokenResponse,
    summary="Log in with username, email or phone",
    responses=problem_responses(401, 413, 422, 429, 503),
)
async def login(
    body: LoginRequest,
    response: Response,
    services: ServicesDep,
    client: ClientAddress,
    request_id: RequestId,
) -> TokenResponse:
    issued = await services.login.login(
        identifier=body.identifier,
        password=body.password,
        client_address=client,
        request_id=request_id,
    )
    return _token_response(response, issued)


@router.post(
    "/v1/auth/token",
    operation_id="issueToken",
    response_model=TokenResponse,
    summary="OAuth2 password grant (for Swagger's Authorize button)",
    responses=problem_responses(401, 413, 422, 429, 503),
)
async def token(
    form: Annotated[TokenForm, Form()],
    response: Response,
    services: ServicesDep,
    client: ClientAddress,
    request_id: RequestId,
) -> TokenResponse:
    issued = await services.login.login(
        identifier=form.username,
        password=form.password,
        client_address=client,
        request_id=request_id,
    )
    return _token_response(response, issued)


@router.get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    response_model=JsonWebKeySet,
    summary="Public keys that verify access tokens",
    responses={200: {"description": "The JWKS; each key states its `alg`."}},
)
async def jwks(services: ServicesDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return services.keys.jwks()
