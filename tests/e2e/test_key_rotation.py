"""Keys rotated under traffic, as `docs/operations.md` ("Signing key rotation") says to.

Two login replicas behind a load balancer (the promotion API fetches the JWKS through it too,
so a refetch may reach either replica) and the promotion API; logins, `/v1/accounts/me`
and `/v1/vouchers` reads run without pause while both the signing key and the device-token
secret are replaced by the documented three rolling deploys, one replica at a time:

1. publish: every replica still signs with the old key and publishes and accepts the next;
   then the verifiers' JWKS cache lifetime passes;
2. switch: every replica signs with the new key and keeps the old one as previous; then the
   access-token lifetime and the leeway pass;
3. retire: the old key is gone.

Every token is used until just before it expires, so tokens of the old key meet switched
replicas and tokens of the new key meet replicas that are not switched yet. Not one valid
token is refused. Before the traffic starts, wrong passwords spend the test network's
failure budget: from then on a login succeeds only with a device token the replica trusts,
so the logins' all being 200 shows that every device stayed trusted through the rotation.

Token lifetime, leeway and cache times are shortened through settings (the token lifetime
to the service's minimum, 60 s): the test takes about two minutes.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import PASSWORD, registration
from tests.e2e.rolling import ApiProcess, LoadBalancer, clean_environment
from tests.mongodb_server import mongodb_server

TOKEN_TTL_SECONDS = 60  # LOGIN_ACCESS_TOKEN_TTL_SECONDS, its lowest allowed value
LEEWAY_SECONDS = 1  # both services' JWT leeway
JWKS_CACHE_SECONDS = 3.0  # PROMOTION_JWKS_CACHE_TTL_SECONDS
JWKS_MIN_REFETCH_SECONDS = 2.0  # PROMOTION_JWKS_MIN_REFETCH_INTERVAL_SECONDS
NETWORK_BUDGET = 3  # LOGIN_THROTTLE_CLIENT_MAX_FAILURES
ACCOUNTS = 4
TOKEN_MARGIN_SECONDS = 3  # a token is used until this long before its `exp`
ASK = {"X-Device-Token-Mode": "header"}


def header_only_client() -> httpx.Client:
    """A client that keeps no cookie: its device token goes in `X-Device-Token` only, as
    the test chooses, never in a `device` cookie a response set."""
    return httpx.Client(timeout=30.0, cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


@dataclass(frozen=True)
class Keys:
    """One generation's key settings: what it signs and issues with, what else it accepts."""

    signing: Path
    previous: tuple[Path, ...] = ()
    upcoming: tuple[Path, ...] = ()
    device: str = ""
    device_previous: tuple[str, ...] = ()
    device_upcoming: tuple[str, ...] = ()

    def settings(self) -> dict[str, str]:
        return {
            "LOGIN_JWT_PRIVATE_KEY_FILE": str(self.signing),
            "LOGIN_JWT_PREVIOUS_PUBLIC_KEYS_FILES": ",".join(map(str, self.previous)),
            "LOGIN_JWT_NEXT_PUBLIC_KEYS_FILES": ",".join(map(str, self.upcoming)),
            "LOGIN_DEVICE_TOKEN_KEY": self.device,
            "LOGIN_DEVICE_TOKEN_PREVIOUS_KEYS": ",".join(self.device_previous),
            "LOGIN_DEVICE_TOKEN_NEXT_KEYS": ",".join(self.device_upcoming),
        }


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def new_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """The commands of the documented procedure: a 3072-bit RSA key and its public half."""
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    openssl(
        "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", str(private)
    )
    openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
    return private, public


def jose_part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


@dataclass
class Traffic:
    """Logins and token reads in a loop of their own, each outcome recorded with its phase."""

    login_url: str
    promotion_url: str
    devices: dict[str, tuple[str, str]]  # username -> (device token, replica that issued it)
    phase: str = "before"
    logins: list[tuple[str, str, str, int]] = field(default_factory=list)
    reads: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _tokens: list[tuple[int, str]] = field(default_factory=list)  # (exp, access token)

    def run(self) -> None:
        with header_only_client() as http:
            while not self._stop.is_set():
                for username in list(self.devices):
                    try:
                        self._log_in(http, username)
                        self._read_tokens(http)
                    except httpx.HTTPError as error:
                        self.errors.append(f"{self.phase}: {type(error).__name__}: {error}")

    def stop(self) -> None:
        self._stop.set()

    def _log_in(self, http: httpx.Client, username: str) -> None:
        device, issued_by = self.devices[username]
        response = http.post(
            f"{self.login_url}/v1/auth/login",
            json={"identifier": username, "password": PASSWORD},
            headers={**ASK, "X-Device-Token": device},
        )
        served_by = response.headers.get("x-served-by", "?")
        self.logins.append((self.phase, issued_by, served_by, response.status_code))
        if response.status_code != 200:
            self.errors.append(f"{self.phase}: login {response.status_code} {response.text}")
            return
        self.devices[username] = (response.headers["x-device-token"], served_by)
        token = response.json()["access_token"]
        self._tokens.append((jose_part(token, 1)["exp"], token))

    def _read_tokens(self, http: httpx.Client) -> None:
        """The oldest token still valid (with a margin) and the newest, on both APIs."""
        now = time.time()
        self._tokens = [(exp, t) for exp, t in self._tokens if exp - TOKEN_MARGIN_SECONDS > now]
        for _, token in {id(t): t for t in (self._tokens[0], self._tokens[-1])}.values():
            kid = jose_part(token, 0)["kid"]
            auth = {"Authorization": f"Bearer {token}"}
            for route, url in (
                ("me", f"{self.login_url}/v1/accounts/me"),
                ("vouchers", f"{self.promotion_url}/v1/vouchers"),
            ):
                response = http.get(url, headers=auth)
                served_by = response.headers.get("x-served-by", "promotion")
                self.reads.append((self.phase, route, kid, served_by, response.status_code))
                if response.status_code != 200:
                    self.errors.append(
                        f"{self.phase}: {route} {response.status_code} for kid {kid[:8]} "
                        f"on {served_by}: {response.text}"
                    )


@dataclass
class Deployment:
    """Two login replicas behind the proxy, and the promotion API, on one database."""

    folder: Path
    base_env: dict[str, str]
    proxy: LoadBalancer
    replicas: list[ApiProcess] = field(default_factory=list)
    started: list[ApiProcess] = field(default_factory=list)

    def login_replica(self, label: str, keys: Keys) -> ApiProcess:
        replica = ApiProcess(
            label, "login_service", "login_service", self.base_env | keys.settings(),
            self.folder / f"login-{label}.log",
        )  # fmt: skip
        self.started.append(replica)
        replica.start()
        replica.wait_ready()
        return replica

    def roll(self, generation: str, keys: Keys) -> None:
        """Replace each replica in turn: the new one ready, then the old one out and stopped."""
        for index, old in enumerate(list(self.replicas)):
            new = self.login_replica(f"{generation}-{index}", keys)
            self.proxy.replace(old, new)
            self.replicas[index] = new
            old.stop()
            time.sleep(2.0)  # a mixed fleet for a while: both generations serve

    def stop(self) -> None:
        for process in reversed(self.started):
            process.stop()


@pytest.fixture(scope="module")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongodb_server(tmp_path_factory.mktemp("rotation-db")) as uri:
        yield uri


def test_rotating_both_keys_under_traffic_refuses_no_valid_token(
    tmp_path: Path, mongodb_uri: str
) -> None:
    old_key, old_public = new_key_pair(tmp_path, "old")
    new_key, new_public = new_key_pair(tmp_path, "new")
    old_device, new_device = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    generations = {
        "start": Keys(old_key, device=old_device),
        "publish": Keys(
            old_key, upcoming=(new_public,), device=old_device, device_upcoming=(new_device,)
        ),
        "switch": Keys(
            new_key, previous=(old_public,), device=new_device, device_previous=(old_device,)
        ),
        "retire": Keys(new_key, device=new_device),
    }
    suffix = uuid.uuid4().hex[:12]
    base_env = clean_environment() | {
        "MONGODB_URI": mongodb_uri,
        "LOGIN_MONGODB_DATABASE": f"rotation_login_{suffix}",
        "PROMOTION_MONGODB_DATABASE": f"rotation_promotion_{suffix}",
        "LOGIN_WORKERS": "1",
        "LOGIN_OUTBOX_RELAY_ENABLED": "false",
        "LOGIN_ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
        "LOGIN_JWT_LEEWAY_SECONDS": str(LEEWAY_SECONDS),
        "LOGIN_THROTTLE_CLIENT_MAX_FAILURES": str(NETWORK_BUDGET),
        "LOGIN_THROTTLE_WAIT_SECONDS": "0",
        "LOGIN_THROTTLE_REGISTRATION_MAX_ATTEMPTS": "100",
        "PROMOTION_JWT_LEEWAY_SECONDS": str(LEEWAY_SECONDS),
        "PROMOTION_JWKS_CACHE_TTL_SECONDS": str(JWKS_CACHE_SECONDS),
        "PROMOTION_JWKS_MIN_REFETCH_INTERVAL_SECONDS": str(JWKS_MIN_REFETCH_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    proxy = LoadBalancer()
    deployment = Deployment(tmp_path, base_env, proxy)
    with proxy.running():
        try:
            for index in range(2):
                replica = deployment.login_replica(f"start-{index}", generations["start"])
                deployment.replicas.append(replica)
                proxy.add(replica)
            promotion = ApiProcess(
                "promotion", "promotion_service", "promotion_service",
                base_env | {"PROMOTION_JWKS_URL": f"{proxy.url}/.well-known/jwks.json"},
                tmp_path / "promotion.log",
            )  # fmt: skip
            deployment.started.append(promotion)
            promotion.start()
            promotion.wait_ready()
            traffic = _traffic(proxy.url, promotion.url)
            _run_rotation(deployment, traffic, generations)
        finally:
            deployment.stop()

    assert traffic.errors == [], "\n".join(traffic.errors[:20])
    _assert_every_crossing_was_exercised(traffic)


def _traffic(login_url: str, promotion_url: str) -> Traffic:
    """Accounts with a device token each; then the network's failure budget spent."""
    devices: dict[str, tuple[str, str]] = {}
    with header_only_client() as http:
        for _ in range(ACCOUNTS):
            username = f"rot{secrets.token_hex(5)}"
            response = http.post(
                f"{login_url}/v1/accounts", json=registration(username), headers=ASK
            )
            assert response.status_code == 201, response.text
            devices[username] = (
                response.headers["x-device-token"],
                response.headers["x-served-by"],
            )
        for _ in range(NETWORK_BUDGET):
            wrong = {"identifier": f"nobody{secrets.token_hex(4)}", "password": "wrong password!"}
            assert http.post(f"{login_url}/v1/auth/login", json=wrong).status_code == 401
        untrusted = http.post(
            f"{login_url}/v1/auth/login",
            json={"identifier": next(iter(devices)), "password": PASSWORD},
        )
        assert untrusted.status_code == 429, "the network's budget should be spent by now"
    return Traffic(login_url, promotion_url, devices)


def _run_rotation(deployment: Deployment, traffic: Traffic, generations: dict[str, Keys]) -> None:
    worker = threading.Thread(target=traffic.run, daemon=True)
    worker.start()
    try:
        time.sleep(3.0)
        for phase, wait in (
            ("publish", max(JWKS_CACHE_SECONDS, JWKS_MIN_REFETCH_SECONDS) + 1),
            ("switch", TOKEN_TTL_SECONDS + LEEWAY_SECONDS + 1),
            ("retire", max(JWKS_CACHE_SECONDS, JWKS_MIN_REFETCH_SECONDS) + 2),
        ):
            traffic.phase = f"{phase}: rolling"
            deployment.roll(phase, generations[phase])
            traffic.phase = f"{phase}: done"
            time.sleep(wait)
    finally:
        traffic.stop()
        worker.join(60)


def _assert_every_crossing_was_exercised(traffic: Traffic) -> None:
    """The moments a rotation can break were met, not skipped by chance."""
    old_kid, new_kid = traffic.reads[0][2], traffic.reads[-1][2]
    assert old_kid != new_kid
    generation = {"start", "publish", "switch", "retire"}
    reads = {(kid, served.split("-")[0], route) for _, route, kid, served, _ in traffic.reads}
    # A replica not switched yet verified a token of the new key (it lists it as next), and
    # a switched one a token of the old key (it lists it as previous).
    assert (new_kid, "publish", "me") in reads, reads
    assert (old_kid, "switch", "me") in reads, reads
    assert {(old_kid, "promotion", "vouchers"), (new_kid, "promotion", "vouchers")} <= reads
    assert {s.split("-")[0] for _, _, s, _ in traffic.logins} <= generation
    # Device tokens: one a switched replica issued, trusted by a replica not switched yet
    # (the secret is its next), and the other way round (the secret is the switched one's
    # previous); then, the old secret retired, by the last generation.
    crossings = {(i.split("-")[0], s.split("-")[0]) for _, i, s, _ in traffic.logins}
    assert {("switch", "publish"), ("publish", "switch"), ("switch", "retire")} <= crossings
    # Tokens of the old key were still read once the last replica had switched.
    late = {kid for phase, _, kid, _, _ in traffic.reads if phase == "switch: done"}
    assert late == {old_kid, new_kid}, late
