"""Login, OAuth2 token and JWKS routes."""

from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import JSONResponse

from login_service.auth.oauth2_errors import (
    NO_STORE,
    OAUTH2_ERROR_RESPONSES,
    OAuth2ErrorRoute,
    oauth2_error,
)
from login_service.auth.schemas import (
    IDENTIFIER_MAX,
    LOGIN_PASSWORD_MAX,
    JsonWebKeySet,
    LoginRequest,
    TokenForm,
    TokenResponse,
)
from login_service.auth.service import LoginOutcome
from login_service.dependencies import (
    ClientAddress,
    DeviceTokenInHeader,
    PresentedDevice,
    RequestId,
    ServicesDep,
)
from login_service.device_cookie import attach_device_token
from login_service.errors import InvalidCredentials, LoginThrottled
from login_service.json_body import StrictJSONRoute
from login_service.problem_schema import problem_responses

router = APIRouter(tags=["auth"], route_class=StrictJSONRoute)
# The token endpoint answers even unreadable forms in OAuth2 terms.
token_router = APIRouter(route_class=OAuth2ErrorRoute)  # tagged "auth" when included

_SET_DEVICE = (
    " A success sets the `device` cookie (and, for a client that asks with "
    "`X-Device-Token-Mode: header` or sends `X-Device-Token`, the `X-Device-Token` header): "
    "later logins presenting it are judged by this device's own failure budget."
)


def _token_response(
    response: Response, services: ServicesDep, outcome: LoginOutcome, in_header: bool
) -> TokenResponse:
    response.headers.update(NO_STORE)
    attach_device_token(
        response,
        outcome.device_token,
        secure=services.settings.is_production,
        max_age=services.device_tokens.ttl_seconds,
        in_header=in_header,
    )
    return TokenResponse(
        access_token=outcome.token.access_token, expires_in=outcome.token.expires_in
    )


@router.post(
    "/v1/auth/login",
    operation_id="login",
    response_model=TokenResponse,
    summary="Log in with username, email or phone",
    description="Errors are `application/problem+json`." + _SET_DEVICE,
    responses=problem_responses(401, 413, 422, 429, 503),
)
async def login(
    body: LoginRequest,
    response: Response,
    services: ServicesDep,
    client: ClientAddress,
    device: PresentedDevice,
    in_header: DeviceTokenInHeader,
    request_id: RequestId,
) -> TokenResponse:
    outcome = await services.login.login(
        identifier=body.identifier,
        password=body.password,
        client_address=client,
        device=device,
        request_id=request_id,
    )
    return _token_response(response, services, outcome, in_header)


@token_router.post(
    "/v1/auth/token",
    operation_id="issueToken",
    response_model=TokenResponse,
    summary="OAuth2 password grant (for Swagger's Authorize button)",
    description="`username` is any identifier (username, email or phone). Errors follow "
    "RFC 6749 section 5.2 (`error`, `error_description`)." + _SET_DEVICE,
    responses={**OAUTH2_ERROR_RESPONSES, **problem_responses(413, 503)},
)
async def token(
    response: Response,
    services: ServicesDep,
    client: ClientAddress,
    device: PresentedDevice,
    in_header: DeviceTokenInHeader,
    request_id: RequestId,
    form: Annotated[TokenForm, Form()],
) -> TokenResponse | JSONResponse:
    grant_type, username, password = form.grant_type, form.username, form.password
    if not grant_type or not username or not password:
        return oauth2_error(
            400, "invalid_request", "The request must include grant_type, username and password."
        )
    if grant_type != "password":
        return oauth2_error(400, "unsupported_grant_type", "Only the password grant is supported.")
    if len(username) > IDENTIFIER_MAX or len(password) > LOGIN_PASSWORD_MAX:
        return oauth2_error(400, "invalid_request", "The username or the password is too long.")
    try:
        outcome = await services.login.login(
            identifier=username,
            password=password,
            client_address=client,
            device=device,
            request_id=request_id,
        )
    except InvalidCredentials as exc:
        return oauth2_error(400, "invalid_grant", exc.detail)
    except LoginThrottled as exc:
        return oauth2_error(429, "slow_down", exc.detail, exc.retry_after_seconds)
    return _token_response(response, services, outcome, in_header)


router.include_router(token_router)  # here, so the API document keeps its order


@router.get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    response_model=JsonWebKeySet,
    summary="Public keys that verify access tokens",
    responses={200: {"description": "The JWKS; each key states its `alg`."}},
)
async def jwks(services: ServicesDep) -> Response:
    # The document only changes with the key set, which is fixed for the process's life.
    return Response(
        services.keys.jwks_json(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )
