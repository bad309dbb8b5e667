"""Device tokens: signed, bounded, and never mistaken for anything else."""

from datetime import UTC, datetime, timedelta

import jwt
from fastapi import Response

from login_service.device_cookie import attach_device_token
from login_service.guard.device_tokens import DeviceTokens, derive_device_token_key

KEY = derive_device_token_key(b"signing key bytes")


def _tokens(key: bytes = KEY, **overrides: object) -> DeviceTokens:
    options: dict[str, object] = {
        "issuer": "urn:bank:login",
        "ttl_seconds": 3600,
        "max_accounts": 3,
    }
    options.update(overrides)
    return DeviceTokens(key, **options)  # type: ignore[arg-type]


def test_a_reissued_token_keeps_the_device_id_and_the_latest_accounts() -> None:
    tokens = _tokens()
    device = tokens.read(tokens.issue(None, "a"))
    assert device is not None
    for account in ("b", "c", "a", "d"):
        device = tokens.read(tokens.issue(device, account))
        assert device is not None

    first = tokens.read(tokens.issue(None, "a"))
    assert first is not None
    assert device.device_id != first.device_id
    assert device.account_ids == ("c", "a", "d"), "the three most recent, latest last"


def test_tampered_foreign_expired_or_access_tokens_are_not_device_tokens() -> None:
    tokens = _tokens()
    valid = tokens.issue(None, "a")
    later = datetime.now(UTC) + timedelta(hours=2)
    expired = _tokens(clock=lambda: later - timedelta(hours=3)).issue(None, "a")
    access_like = jwt.encode({"sub": "a", "acc": ["a"], "jti": "x"}, KEY, algorithm="HS256")

    assert tokens.read(valid) is not None
    assert tokens.read(valid[:-2] + ("AA" if not valid.endswith("AA") else "BB")) is None
    assert _tokens(derive_device_token_key(b"another key")).read(valid) is None
    assert tokens.read(expired) is None
    assert tokens.read(access_like) is None
    assert tokens.read("not a token") is None
    assert tokens.read("x" * 10_000) is None


def test_a_token_of_another_type_is_not_a_device_token_even_under_the_same_key() -> None:
    tokens = _tokens()
    claims = jwt.decode(
        tokens.issue(None, "a"), KEY, algorithms=["HS256"], options={"verify_aud": False}
    )
    for typ in ("JWT", "at+jwt", None):
        headers = {"typ": typ} if typ else {}
        other = jwt.encode(claims, KEY, algorithm="HS256", headers=headers)
        assert tokens.read(other) is None, typ
    same = jwt.encode(claims, KEY, algorithm="HS256", headers={"typ": "device+jwt"})
    assert tokens.read(same) is not None


def test_the_device_cookie_is_httponly_strict_and_scoped_to_the_api_routes() -> None:
    response, browser = Response(), Response()
    attach_device_token(response, "token-value", secure=True, max_age=60, in_header=True)
    attach_device_token(browser, "token-value", secure=True, max_age=60, in_header=False)

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("device=token-value;")
    for attribute in ("HttpOnly", "Max-Age=60", "Path=/v1;", "SameSite=strict", "Secure"):
        assert attribute in cookie, attribute
    assert response.headers["x-device-token"] == "token-value"
    assert browser.headers["set-cookie"] == cookie
    assert "x-device-token" not in browser.headers


def test_a_token_under_a_retired_key_is_read_and_the_reissue_uses_the_current_key() -> None:
    retired, current = derive_device_token_key(b"old secret"), derive_device_token_key(b"new")
    old_token = _tokens(retired).issue(None, "a")
    rotated = DeviceTokens(
        current, read_keys=(retired,), issuer="urn:bank:login", ttl_seconds=3600, max_accounts=3
    )

    device = rotated.read(old_token)

    assert device is not None
    assert device.account_ids == ("a",)
    reissued = rotated.issue(device, "b")
    assert _tokens(current).read(reissued) is not None, "issued under the current key"
    assert _tokens(retired).read(reissued) is None
    assert _tokens(current).read(old_token) is None, "without the retired key it is unknown"
