"""`make dev`'s broker users on the real broker: two stacks sharing it keep working.

A per-test vhost holds the users' rights; the users (named from each test folder) are
deleted afterwards.
"""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import pytest

from devstack.broker_users import create_service_users, stack_users

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
CTL_TIMEOUT_SECONDS = 120


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    executable = shutil.which("rabbitmqctl", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to manage the test's broker users (rabbitmq-server)")
    result = subprocess.run(
        [executable, "-q", *args],
        capture_output=True,
        text=True,
        timeout=CTL_TIMEOUT_SECONDS,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"rabbitmqctl {args[0]} failed: {result.stderr}"


@pytest.fixture
def vhost(tmp_path: Path) -> Iterator[str]:
    name = f"test-devstack-users-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    try:
        yield name
    finally:
        _rabbitmqctl("delete_vhost", name)
        for data_dir in (tmp_path / "one", tmp_path / "two"):
            for user in stack_users(data_dir):
                _rabbitmqctl("delete_user", user, check=False)


async def _users_of(data_dir: Path, vhost: str) -> dict[str, str]:
    parts = urlsplit(BROKER_URL)
    made = await create_service_users(
        REPO_ROOT,
        data_dir,
        {**os.environ, "BROKER_VHOST": vhost},
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5672,
    )
    assert isinstance(made, dict), made
    return made


async def _connects(url: str, vhost: str) -> None:
    """Fails unless the URL's user and password open a connection to `vhost`."""
    parts = urlsplit(url)
    in_vhost = parts._replace(path="/" + quote(vhost, safe="")).geturl()
    connection = await aio_pika.connect(in_vhost, timeout=30)
    await connection.close()


def test_a_second_stack_on_the_same_broker_leaves_the_first_ones_users_working(
    tmp_path: Path, vhost: str
) -> None:
    async def scenario() -> None:
        first = await _users_of(tmp_path / "one", vhost)
        second = await _users_of(tmp_path / "two", vhost)
        again = await _users_of(tmp_path / "one", vhost)  # the first stack's next run
        assert again == first, "a stack keeps its users and passwords across runs"
        for name in ("LOGIN_RABBITMQ_URL", "PROMOTION_RABBITMQ_URL"):
            assert urlsplit(first[name]).username != urlsplit(second[name]).username
            # The first stack's credentials still open connections after the second's start.
            await _connects(first[name], vhost)
            await _connects(second[name], vhost)
        login_user = unquote(urlsplit(first["LOGIN_RABBITMQ_URL"]).username or "")
        assert first["PROMOTION_TRUSTED_PUBLISHER"] == login_user

    asyncio.run(scenario())
