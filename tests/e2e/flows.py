"""HTTP steps shared by the end-to-end tests: a new account, a login, waiting for a voucher."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.harness import StackUrls

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password
VOUCHER_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class Session:
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def registration(username: str) -> dict[str, str]:
    """A registration body for `username`, with a random phone number (retry on its 409)."""
    return {
        "username": username,
        "email": f"{username}@example.com",
        "phone": f"+1 202 555 {secrets.randbelow(10_000):04d}",
        "password": PASSWORD,
    }


def register(http: httpx.Client, stack: StackUrls) -> str:
    """Create an account with fresh details; returns its username."""
    for _ in range(5):
        tag = secrets.token_hex(5)
        username = f"e2e{tag}"
        response = http.post(f"{stack.login}/v1/accounts", json=registration(username))
        if response.status_code == 409:  # a phone number taken by an earlier run
            continue
        assert response.status_code == 201, response.text
        return username
    raise AssertionError("could not find a free phone number in five tries")


def log_in(http: httpx.Client, stack: StackUrls, username: str) -> Session:
    response = http.post(
        f"{stack.login}/v1/auth/login", json={"identifier": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return Session(username=username, token=response.json()["access_token"])


def me(http: httpx.Client, stack: StackUrls, session: Session) -> dict[str, Any]:
    response = http.get(f"{stack.login}/v1/accounts/me", headers=session.headers)
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()
    return profile


def campaign(http: httpx.Client, stack: StackUrls, campaign_id: str = "first-login") -> Any:
    response = http.get(f"{stack.promotion}/v1/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    return response.json()


def vouchers(http: httpx.Client, stack: StackUrls, session: Session) -> list[dict[str, Any]]:
    response = http.get(f"{stack.promotion}/v1/vouchers", headers=session.headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def wait_for_voucher(http: httpx.Client, stack: StackUrls, session: Session) -> dict[str, Any]:
    """The account's voucher, once a consumer granted it (polls the promotion API)."""
    deadline = time.monotonic() + VOUCHER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        listed = vouchers(http, stack, session)
        if listed:
            return listed[0]
        time.sleep(0.5)
    raise AssertionError(f"no voucher within {VOUCHER_TIMEOUT_SECONDS:.0f} s of the first login")
