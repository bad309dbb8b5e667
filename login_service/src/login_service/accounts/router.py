"""Account routes: registration and the caller's own profile."""

from fastapi import APIRouter, Response, status

from login_service.accounts.repository import Account
from login_service.accounts.schemas import AccountOut, RegistrationRequest
from login_service.dependencies import ClientAddress, CurrentAccount, ServicesDep
from login_service.problems import problem_responses

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


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
    body: RegistrationRequest, response: Response, services: ServicesDep, client: ClientAddress
) -> AccountOut:
    account = await services.accounts.register(body, client)
    services.metrics.registrations.inc()
    return _account_out(response, account)


@router.get(
    "/me",
    operation_id="getMe",
    response_model=AccountOut,
    summary="The authenticated account's profile",
    responses=problem_responses(401, 503),
)
async def me(account: CurrentAccount, response: Response) -> AccountOut:
    return _account_out(response, account)
