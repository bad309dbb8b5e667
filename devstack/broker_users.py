"""The services' own broker users on a local RabbitMQ that `make dev` manages.

The users are made by deploy/rabbitmq/service-users.sh (the same rights as in compose and
production), with passwords generated once and kept with the other local data. Their names
carry a suffix derived from the data folder: two checkouts sharing one broker each have their
own pair, so neither ever changes the password of a user the other one is running with.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from devstack.config import redact_credentials

LOGIN_USER = "login-service"
PROMOTION_USER = "promotion-service"
# Set in the environment (or .env), these are used as given and no user is created.
GIVEN_URL_SETTINGS = ("LOGIN_RABBITMQ_URL", "PROMOTION_RABBITMQ_URL")
PASSWORDS_FILE = "broker-users.txt"
SCRIPT_TIMEOUT_SECONDS = 120
# Settings that rename the broker objects; the users' rights cover the default names only.
RENAMING_SETTINGS = (
    "LOGIN_EVENTS_EXCHANGE",
    "PROMOTION_EVENTS_EXCHANGE",
    "PROMOTION_QUEUE_NAME",
    "PROMOTION_DEAD_LETTER_EXCHANGE",
    "PROMOTION_DEAD_LETTER_QUEUE",
)


def stack_users(data_dir: Path) -> tuple[str, str]:
    """The login and promotion users of the stack keeping its data in `data_dir`."""
    suffix = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"{LOGIN_USER}-{suffix}", f"{PROMOTION_USER}-{suffix}"


def given_broker_urls(env: Mapping[str, str]) -> list[str]:
    """The per-service broker URLs the developer set; any of them means: create no users."""
    return [name for name in GIVEN_URL_SETTINGS if env.get(name)]


def announced_brokers(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(who, URL) of the broker user each service really connects as, password redacted."""
    shared = env.get("RABBITMQ_URL", "")
    return [
        ("login", redact_credentials(env.get("LOGIN_RABBITMQ_URL") or shared)),
        ("promotion", redact_credentials(env.get("PROMOTION_RABBITMQ_URL") or shared)),
    ]


def _passwords(data_dir: Path) -> tuple[str, str]:
    """The two users' passwords: read from the data folder, or generated and kept there."""
    path = data_dir / PASSWORDS_FILE
    if path.is_file():
        lines = path.read_text().split()
        if len(lines) == 2:
            return lines[0], lines[1]
    data_dir.mkdir(parents=True, exist_ok=True)
    login, promotion = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(f"{login}\n{promotion}\n")
    return login, promotion


def service_broker_env(
    host: str, port: int, users: tuple[str, str], passwords: tuple[str, str]
) -> dict[str, str]:
    """The settings that make each service connect as its own user."""

    def url(user: str, password: str) -> str:
        return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"

    (login_user, promo_user), (login_password, promo_password) = users, passwords
    return {
        "LOGIN_RABBITMQ_URL": url(login_user, login_password),
        "PROMOTION_RABBITMQ_URL": url(promo_user, promo_password),
        "PROMOTION_TRUSTED_PUBLISHER": login_user,
    }


async def create_service_users(
    repo_root: Path, data_dir: Path, env: Mapping[str, str], *, host: str, port: int
) -> dict[str, str] | str:
    """Create (or update) both users; their settings, or why they could not be made.

    `rabbitmqctl` needs the broker's Erlang cookie (root or the rabbitmq user); without it
    the services keep the shared local user and the caller says so.
    """
    renamed = [name for name in RENAMING_SETTINGS if env.get(name)]
    if renamed:
        # Rights are per user and vhost: narrowing them to other names would cut off a
        # stack on the default names that shares this broker.
        return f"{', '.join(renamed)} rename the broker objects"
    path = f"{env.get('PATH', '')}:/usr/sbin:/sbin"
    if shutil.which("rabbitmqctl", path=path) is None:
        return "rabbitmqctl is not installed here"
    users, passwords = stack_users(data_dir), _passwords(data_dir)
    script_env = {
        **env,
        "PATH": path,
        "LOGIN_BROKER_USER": users[0],
        "LOGIN_BROKER_PASSWORD": passwords[0],
        "PROMOTION_BROKER_USER": users[1],
        "PROMOTION_BROKER_PASSWORD": passwords[1],
    }
    script = repo_root / "deploy" / "rabbitmq" / "service-users.sh"
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            ["bash", str(script)],
            env=script_env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"creating the broker users took over {SCRIPT_TIMEOUT_SECONDS} s"
    if result.returncode != 0:
        return f"creating the broker users failed: {result.stderr.strip()[-300:]}"
    return service_broker_env(host, port, users, passwords)
