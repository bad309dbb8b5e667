"""Login: check the password under the budgets, rehash, record the first login, open a session."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from login_service.accounts.normalize import classify_identifier
from login_service.accounts.repository import Account, AccountRepository
from login_service.auth.tokens import IssuedToken, SessionIssuer
from login_service.clock import utc_now_ms
from login_service.errors import InvalidCredentials, LoginThrottled, VerificationQueueFull
from login_service.first_login.recorder import FirstLoginRecorder
from login_service.guard.client_address import client_network
from login_service.guard.device_tokens import DeviceToken, DeviceTokens
from login_service.guard.login_guard import LoginAttempt, LoginGuard
from login_service.guard.passwords import Verification
from login_service.metrics import ServiceMetrics

_OUTCOMES = {
    InvalidCredentials: "invalid",
    LoginThrottled: "throttled",
    VerificationQueueFull: "shed",
}


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """A session, and the device token that now names the account (cookie and header)."""

    token: IssuedToken
    device_token: str = field(repr=False)


class LoginService:
    """Authenticates an identifier and password and opens a session."""

    def __init__(
        self,
        *,
        accounts: AccountRepository,
        guard: LoginGuard,
        device_tokens: DeviceTokens,
        recorder: FirstLoginRecorder,
        sessions: SessionIssuer,
        metrics: ServiceMetrics,
        phone_region: str | None = None,
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._accounts = accounts
        self._guard = guard
        self._device_tokens = device_tokens
        self._recorder = recorder
        self._sessions = sessions
        self._metrics = metrics
        self._phone_region = phone_region
        self._clock = clock

    async def login(
        self,
        *,
        identifier: str,
        password: str,
        client_address: str,
        device: DeviceToken | None,
        request_id: str | None,
    ) -> LoginOutcome:
        """Return a session, or raise ``InvalidCredentials`` / ``LoginThrottled`` /
        ``VerificationQueueFull``.

        Unknown identifiers and wrong passwords take the same path: the same lookup,
        the same budgets, one Argon2 verification (against a dummy hash when there is no
        account). A later login costs three database round trips: the account, the
        budgets' windows, and one write (``last_login_at``); a first login replaces
        that write by the recorder's transaction.
        """
        wanted = classify_identifier(identifier, self._phone_region)
        account = await self._accounts.find_by_identifier(wanted.kind, wanted.key)
        attempt = LoginAttempt(
            identifier=f"{wanted.kind}:{wanted.key}",
            network=client_network(client_address),
            account_id=account.id if account else None,
            device=device,
        )
        result = await self._checked_password(attempt, password, account)
        assert account is not None  # a verification without an account always fails

        if result.new_hash is not None:
            await self._accounts.replace_password_hash(
                account.id, account.password_hash, result.new_hash
            )
        await self._record_login(account, request_id)
        self._metrics.logins.labels("success").inc()
        # One log line per request: the outcome joins the request's line.
        structlog.contextvars.bind_contextvars(login="success", account_id=account.id)
        return LoginOutcome(
            token=self._sessions.issue(account.id, self._clock()),
            device_token=self._device_tokens.issue(device, account.id),
        )

    async def _checked_password(
        self, attempt: LoginAttempt, password: str, account: Account | None
    ) -> Verification:
        """The guard's verification; a refusal is counted by outcome (and a throttle's by
        rule) and joins the request's log line before it is raised again."""
        try:
            return await self._guard.check_password(
                attempt, password, account.password_hash if account else None
            )
        except (InvalidCredentials, LoginThrottled, VerificationQueueFull) as exc:
            outcome = _OUTCOMES[type(exc)]
            self._metrics.logins.labels(outcome).inc()
            if isinstance(exc, LoginThrottled):
                self._metrics.throttle_refusals.labels(exc.rule).inc()
            structlog.contextvars.bind_contextvars(login=outcome)
            raise

    async def _record_login(self, account: Account, request_id: str | None) -> None:
        """The first login goes through the recorder's transaction; later ones need none."""
        if account.first_login_at is not None:
            await self._accounts.touch_last_login(account.id, self._clock())
            return
        event = await self._recorder.record(account.id, request_id)
        if event is None:
            return  # a concurrent login of this account recorded it first
        self._metrics.first_logins.inc()
        structlog.contextvars.bind_contextvars(
            first_login_order=event.first_login_order, event_id=event.event_id
        )
