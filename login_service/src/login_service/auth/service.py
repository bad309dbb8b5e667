"""Login: reserve an attempt, verify, rehash, record the first login, issue a token."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from login_service.accounts.normalize import classify_identifier
from login_service.accounts.repository import Account, AccountRepository
from login_service.auth.client_address import client_network
from login_service.auth.keys import KeySet
from login_service.auth.passwords import PasswordHasher
from login_service.auth.throttle import LoginThrottle, ThrottleRule
from login_service.auth.tokens import IssuedToken, TokenPolicy, issue_access_token
from login_service.clock import utc_now_ms
from login_service.errors import InvalidCredentials, LoginThrottled
from login_service.first_login.recorder import FirstLoginRecorder
from login_service.metrics import ServiceMetrics

log = structlog.get_logger("login_service.auth")


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    """Three budgets of failed logins; an attempt counts against each one that applies.

    - ``per_account``: one account from one client network. An attacker at one address
      uses up this budget, not the owner's at theirs.
    - ``per_client``: one client network, whatever the accounts (password spraying).
    - ``per_account_total``: one account from every network its owner has not logged in
      from (guessing spread over many addresses). A network of one of the account's
      latest successful logins is exempt, so such an attack cannot lock the owner out
      where they usually log in. ``per_account_daily`` is the same over a day, so a slow,
      distributed guesser gets a bounded number of guesses a day (NIST SP 800-63B caps
      consecutive failures at 100).
    """

    per_account: ThrottleRule
    per_client: ThrottleRule
    per_account_total: ThrottleRule
    per_account_daily: ThrottleRule
    remembered_networks: int = 10


class LoginService:
    """Authenticates an identifier and password and opens a session."""

    def __init__(
        self,
        *,
        accounts: AccountRepository,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        rules: ThrottleRules,
        recorder: FirstLoginRecorder,
        keys: KeySet,
        token_policy: TokenPolicy,
        on_first_login: Callable[[], None],
        metrics: ServiceMetrics,
        phone_region: str | None = None,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._accounts = accounts
        self._hasher = hasher
        self._throttle = throttle
        self._rules = rules
        self._recorder = recorder
        self._keys = keys
        self._token_policy = token_policy
        self._on_first_login = on_first_login
        self._metrics = metrics
        self._phone_region = phone_region
        self._clock = clock

    async def login(
        self, *, identifier: str, password: str, client_address: str, request_id: str | None
    ) -> IssuedToken:
        """Return a token, or raise ``InvalidCredentials`` / ``LoginThrottled``.

        Unknown identifiers and wrong passwords take the same path: the same lookup,
        the same attempt reservations, and one Argon2 verification (against a dummy
        hash when there is no account). The attempt is reserved before the password
        is checked, so concurrent guesses cannot outrun the limit.
        """
        wanted = classify_identifier(identifier, self._phone_region)
        account = await self._accounts.find_by_identifier(wanted.kind, wanted.key)
        account_key = f"account:{account.id}" if account else f"{wanted.kind}:{wanted.key}"
        network = client_network(client_address)
        subjects = [
            (self._rules.per_account, f"{account_key}|{network}"),
            (self._rules.per_client, network),
        ]
        if account is None or network not in account.networks:
            subjects.append((self._rules.per_account_total, account_key))
            subjects.append((self._rules.per_account_daily, account_key))
        try:
            reservation = await self._throttle.reserve(subjects)
        except LoginThrottled:
            self._metrics.logins.labels("throttled").inc()
            log.info("login_throttled", client=client_address)
            raise

        result = await self._hasher.verify(password, account.password_hash if account else None)
        if account is None or not result.ok:
            self._metrics.logins.labels("invalid").inc()
            log.info("login_failed", client=client_address)
            raise InvalidCredentials

        # Successful logins do not count toward a lock-out.
        await self._throttle.release(reservation)
        if result.new_hash is not None:
            await self._accounts.replace_password_hash(
                account.id, account.password_hash, result.new_hash
            )
        await self._record_login(account, request_id)
        if account.networks[-1:] != (network,) and self._rules.remembered_networks:
            await self._accounts.remember_network(
                account.id, network, self._rules.remembered_networks
            )
        self._metrics.logins.labels("success").inc()
        log.info("login_succeeded", account_id=account.id)
        return issue_access_token(self._keys, self._token_policy, account.id, self._clock())

    async def _record_login(self, account: Account, request_id: str | None) -> None:
        """The first login goes through the recorder's transaction; later ones need none."""
        if account.first_login_at is not None:
            await self._accounts.touch_last_login(account.id, self._clock())
            return
        event = await self._recorder.record(account.id, request_id)
        if event is None:
            return  # a concurrent login of this account recorded it first
        self._metrics.first_logins.inc()
        self._on_first_login()
        log.info(
            "first_login_recorded",
            account_id=account.id,
            first_login_order=event.first_login_order,
            event_id=event.event_id,
        )
