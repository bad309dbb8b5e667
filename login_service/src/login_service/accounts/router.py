"""Account routes: registration and the caller's own profile."""

from fastapi import APIRouter, Response, status

from login_service.accounts.repository import Account
from login_service.accounts.schemas import AccountOut, RegistrationRequest
from login_service.dependencies import (
    ClientAddress,
    CurrentAccount,
    DeviceTokenInHeader,
    PresentedDevice,
    ServicesDep,
)
from login_service.device_cookie import attach_device_token
from login_service.json_body import StrictJSONRoute
from login_service.problem_schema import problem_responses

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], route_class=StrictJSONRoute)


def _account_out(response: Response, account: Account) -> AccountOut:
    # Personal data: no shared or browser cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return AccountOut(
        id=account.id,
        username=account.username,
        email=account.email,
        phone=account.phone,
        full_name=account.full_name,
        birthday=account.birthday,
        created_at=account.created_at,
        first_login_at=account.first_login_at,
        first_login_order=account.first_login_order,
    )


@router.post(
    "",
    operation_id="register",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountOut,
    summary="Create an account",
    responses=problem_responses(409, 413, 422, 429, 503),
)
async def register(
    body: RegistrationRequest,
    response: Response,
    services: ServicesDep,
    client: ClientAddress,
    device: PresentedDevice,
    in_header: DeviceTokenInHeader,
) -> AccountOut:
    """Create an account. The response sets the `device` cookie (and, asked with
    `X-Device-Token-Mode: header`, the `X-Device-Token` header): logins presenting it are
    judged by this device's own failure budget."""
    registration = await services.accounts.register(body, client, device)
    services.metrics.registrations.inc()
    attach_device_token(
        response,
        registration.device_token,
        secure=services.settings.is_production,
        max_age=services.device_tokens.ttl_seconds,
        in_header=in_header,
    )
    return _account_out(response, registration.account)


@router.get(
    "/me",
    operation_id="getMe",
    response_model=AccountOut,
    summary="The authenticated account's profile",
    responses=problem_responses(401, 503),
)
async def me(account: CurrentAccount, response: Response) -> AccountOut:
    return _account_out(response, account)
