"""Registration and profile reads."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from login_service.accounts.normalize import normalize_email, normalize_phone, normalize_username
from login_service.accounts.repository import Account, AccountRepository
from login_service.accounts.schemas import RegistrationRequest
from login_service.clock import utc_now_ms
from login_service.errors import InvalidField, InvalidToken, RegistrationThrottled
from login_service.guard.client_address import client_network
from login_service.guard.device_tokens import DeviceToken, DeviceTokens
from login_service.guard.passwords import PasswordHasher
from login_service.guard.windows import ThrottleRule, WindowStore


@dataclass(frozen=True, slots=True)
class Registration:
    """The new account, and the device token that now names it (cookie and header)."""

    account: Account
    device_token: str = field(repr=False)


class AccountService:
    """Creates accounts and reads them back for their owners."""

    def __init__(
        self,
        accounts: AccountRepository,
        *,
        hasher: PasswordHasher,
        windows: WindowStore,
        device_tokens: DeviceTokens,
        per_client: ThrottleRule,
        phone_region: str | None = None,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._accounts = accounts
        self._hasher = hasher
        self._windows = windows
        self._device_tokens = device_tokens
        self._per_client = per_client
        self._phone_region = phone_region
        self._clock = clock

    async def register(
        self, request: RegistrationRequest, client_address: str, device: DeviceToken | None
    ) -> Registration:
        """Create an account from a validated request, and a device token naming it.

        The device token makes the registering client trusted for the account's logins,
        so the new customer's first login from there never waits on others' guesses.

        Every registration that gets this far (created, or refused with a conflict) spends
        one of the client network's registrations of the window, before any Argon2 work:
        a flood of sign-ups costs the service nothing past the budget, and the 409 that
        says an email or phone is taken cannot be asked without limit.

        Uniqueness is decided by the unique indexes on the normalised keys, so two
        racing registrations of one username, email or phone cannot both succeed;
        the loser gets ``AccountConflict`` naming the field. A phone number that does
        not parse (in the configured default region) raises ``InvalidField``.
        """
        _, username_key = normalize_username(request.username)
        _, email_key = normalize_email(request.email)
        try:
            phone = normalize_phone(request.phone, self._phone_region)
        except ValueError as exc:
            raise InvalidField("phone", str(exc)) from None
        await self._windows.reserve(
            self._per_client, client_network(client_address), RegistrationThrottled
        )
        password_hash = await self._hasher.hash(request.password)
        now = self._clock()
        document = {
            "_id": str(uuid.uuid4()),
            "username": request.username,
            "username_key": username_key,
            "email": request.email,
            "email_key": email_key,
            "phone": phone,
            "full_name": request.full_name,
            "birthday": request.birthday.isoformat() if request.birthday else None,
            "password_hash": password_hash,
            "created_at": now,
        }
        await self._accounts.insert(document)
        account = Account.from_document(document)
        return Registration(account, self._device_tokens.issue(device, account.id))

    async def get(self, account_id: str) -> Account:
        """The account a verified token names; a token for a deleted account is refused."""
        account = await self._accounts.get(account_id)
        if account is None:
            raise InvalidToken("account not found")
        return account
