"""The production override (deploy/compose.production.yml) with the secrets it documents: it
starts and serves a login; each service, given its settings without one of them, exits with
a clear message of its own (not only compose's interpolation error)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.compose.stack import REPO_ROOT, ComposeStack, compose_stack
from tests.e2e.flows import log_in, me, register


def production_environment(key_file: Path, folder: Path) -> dict[str, str]:
    """What the override's header asks for before the first start, and the database it is
    given: the stand-in as the `local-database` profile's `mongodb` service, requiring the
    URI's user, reached without TLS (waived from this environment, never a committed file)."""
    password = secrets.token_urlsafe(24)
    # Broker passwords with characters a URL must percent-encode, as a generator may make them.
    login, promotion = (quote(f"{secrets.token_urlsafe(18)}/+@:", safe="") for _ in range(2))
    return {
        "RABBITMQ_USER": "bank-operator",
        "RABBITMQ_PASSWORD_FILE": _secret_file(folder, "broker", secrets.token_urlsafe(24)),
        "RABBITMQ_LOGIN_USER": "login-service",
        "RABBITMQ_LOGIN_URL_FILE": _secret_file(
            folder, "login-url", f"amqp://login-service:{login}@rabbitmq:5672/"
        ),
        "RABBITMQ_PROMOTION_USER": "promotion-service",
        "RABBITMQ_PROMOTION_URL_FILE": _secret_file(
            folder, "promotion-url", f"amqp://promotion-service:{promotion}@rabbitmq:5672/"
        ),
        "JWT_PRIVATE_KEY_FILE": str(key_file),
        "LOGIN_DEVICE_TOKEN_KEY_FILE": _secret_file(folder, "device", secrets.token_urlsafe(32)),
        "MONGODB_URI_FILE": _secret_file(
            folder, "uri", f"mongodb://bank-app:{password}@mongodb:27017/?replicaSet=rs0"
        ),
        "MONGODB_TLS_WAIVED": "true",
        "COMPOSE_PROFILES": "local-database",
        "COMPOSE_EXTRA_FILES": str(REPO_ROOT / "tests" / "compose" / "standin-with-user.yml"),
        "STANDIN_USER": "bank-app",
        "STANDIN_PASSWORD_FILE": _secret_file(folder, "password", password),
    }


def _secret_file(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text + "\n")
    path.chmod(0o644)  # read by the containers' non-root users through the secret mount
    return str(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="module")
def key_file(folder: Path) -> Path:
    path = folder / "jwt_private_key.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072",
         "-out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    path.chmod(0o644)  # read by the login service's non-root user through the secret mount
    return path


# service -> (setting emptied, or the waiver turned off, and what its refusal must name)
MISSING = {
    "login-api": [
        ("LOGIN_DEVICE_TOKEN_KEY_FILE", "LOGIN_DEVICE_TOKEN_KEY"),
        ("LOGIN_JWT_PRIVATE_KEY_FILE", "LOGIN_JWT_PRIVATE_KEY"),
        ("MONGODB_URI_FILE", "MONGODB_URI"),
        ("LOGIN_MONGODB_TLS_WAIVED=false", "tls=true"),
        ("LOGIN_RABBITMQ_URL_FILE", "guest"),
    ],
    "promotion-api": [
        ("MONGODB_URI_FILE", "MONGODB_URI"),
        ("PROMOTION_MONGODB_TLS_WAIVED=false", "tls=true"),
    ],
    "promotion-consumer": [
        ("PROMOTION_RABBITMQ_URL_FILE", "guest"),
        ("PROMOTION_TRUSTED_PUBLISHER", "PROMOTION_TRUSTED_PUBLISHER"),
        ("MONGODB_URI_FILE", "MONGODB_URI"),
    ],
}


def _refusal(stack: ComposeStack, service: str, setting: str) -> tuple[int, str]:
    assignment = setting if "=" in setting else f"{setting}="
    ran = stack.compose(
        "run", "--rm", "--no-deps", "-T", "-e", assignment, service, check=False, timeout=120
    )
    return ran.returncode, ran.stdout + ran.stderr


def test_the_production_override_starts_serves_a_login_and_refuses_missing_secrets(
    key_file: Path, folder: Path
) -> None:
    environment = production_environment(key_file, folder)
    with compose_stack("production", environment, production=True) as stack:
        with httpx.Client(timeout=30) as client:
            urls = stack.urls
            session = log_in(client, urls, register(client, urls))
            assert me(client, urls, session)["first_login_order"] == 1
            jwks = client.get(f"{stack.url}/.well-known/jwks.json").json()
            assert [key["kty"] for key in jwks["keys"]] == ["RSA"]

        for service, cases in MISSING.items():
            for setting, named in cases:
                code, output = _refusal(stack, service, setting)
                assert code != 0, f"{service} started without {setting}:\n{output[-2000:]}"
                refusals = [
                    json.loads(line)
                    for line in output.splitlines()
                    if line.startswith("{") and "refusing_to_start" in line
                ]
                assert refusals, f"{service} without {setting}: no clear refusal:\n{output[-2000:]}"
                assert named in refusals[0]["reason"], refusals
                assert "Traceback" not in output
