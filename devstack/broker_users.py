"""The services' own broker users on a local RabbitMQ that `make dev` manages.

The users are made by deploy/rabbitmq/service-users.sh (the same rights as in compose and
production), with passwords generated once and kept with the other local data.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

LOGIN_USER = "login-service"
PROMOTION_USER = "promotion-service"
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
    host: str, port: int, login_password: str, promo_password: str
) -> dict[str, str]:
    """The settings that make each service connect as its own user."""

    def url(user: str, password: str) -> str:
        return f"amqp://{user}:{quote(password, safe='')}@{host}:{port}/"

    return {
        "LOGIN_RABBITMQ_URL": url(LOGIN_USER, login_password),
        "PROMOTION_RABBITMQ_URL": url(PROMOTION_USER, promo_password),
        "PROMOTION_TRUSTED_PUBLISHER": LOGIN_USER,
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
    login_password, promo_password = _passwords(data_dir)
    script_env = {
        **env,
        "PATH": path,
        "LOGIN_BROKER_USER": LOGIN_USER,
        "LOGIN_BROKER_PASSWORD": login_password,
        "PROMOTION_BROKER_USER": PROMOTION_USER,
        "PROMOTION_BROKER_PASSWORD": promo_password,
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
    return service_broker_env(host, port, login_password, promo_password)
