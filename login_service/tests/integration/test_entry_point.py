"""``python -m login_service`` with two Uvicorn workers on one database and one metrics view."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, free_port, insert_accounts, process_env, wait_ready

pytestmark = pytest.mark.integration

LOGINS = 12


@pytest.fixture
def served(
    mongodb_uri: str, rabbitmq_url: str, database_name: str, tmp_path: Path, events_exchange: str
) -> Iterator[str]:
    port = free_port()
    env = process_env(
        mongodb_uri,
        rabbitmq_url,
        database_name,
        tmp_path,
        port,
        LOGIN_EVENTS_EXCHANGE=events_exchange,
        LOGIN_LOG_LEVEL="INFO",
        LOGIN_LOG_FORMAT="json",
    )
    log = tmp_path / "login.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "login_service"], env=env, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        _every_worker_started(log, workers=2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _every_worker_started(log: Path, workers: int, within: float = 60) -> None:
    """Wait until each worker has logged ``started`` (its database prepared): one ready
    answer comes from whichever worker the kernel picked, while another may still answer
    503 ``starting``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        events = [_event(line) for line in log.read_text().splitlines()]
        if events.count("started") >= workers:
            return
        time.sleep(0.1)
    pytest.fail(f"not every worker started within {within:.0f} s:\n{log.read_text()[-3000:]}")


def _event(line: str) -> object:
    try:
        return json.loads(line).get("event")
    except (ValueError, AttributeError):
        return None


async def test_two_workers_share_one_dev_key_and_one_first_login_order(
    served: str, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    usernames = await insert_accounts(mongo, database_name, LOGINS)

    async with httpx.AsyncClient(base_url=served, timeout=60) as client:
        # One connection per login, so both workers accept some. One at a time: the
        # concurrency of first logins is proven against the recorder in test_first_login.
        responses = [
            await client.post(
                "/v1/auth/login",
                json={"identifier": name, "password": TEST_PASSWORD},
                headers={"Connection": "close"},
            )
            for name in usernames
        ]
        jwks = (await client.get("/.well-known/jwks.json")).json()

    assert [r.status_code for r in responses] == [200] * LOGINS
    (jwk,) = jwks["keys"]
    key = jwt.PyJWK(jwk).key
    for response in responses:
        jwt.decode(
            response.json()["access_token"],
            key,
            algorithms=[jwk["alg"]],
            audience="urn:bank:api",
            issuer="urn:bank:login",
        )
    accounts = await mongo[database_name]["accounts"].find({}).to_list()
    orders = sorted(account["first_login_order"] for account in accounts)
    assert orders == list(range(1, LOGINS + 1))


def _healthz_requests(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "login_http_requests_total" and sample.labels["route"] == "/healthz"
    )


def _healthz_requests_per_worker(directory: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count, read from its counter file alone."""
    counts = {}
    for values in directory.glob("counter_*.db"):
        alone = scratch / values.stem
        alone.mkdir(parents=True, exist_ok=True)
        (alone / values.name).write_bytes(values.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[values.stem] = _healthz_requests(generate_latest(registry).decode())
    return counts


async def test_metrics_count_the_requests_of_every_worker_whichever_answers(
    served: str, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    sent = 0
    async with httpx.AsyncClient(base_url=served, timeout=30) as client:
        # New connections until both workers have served some (the kernel picks the worker).
        while sent < 400:
            for _ in range(20):
                response = await client.get("/healthz", headers={"Connection": "close"})
                assert response.status_code == 200
                sent += 1
            per_worker = _healthz_requests_per_worker(tmp_path / "metrics", scratch)
            if sum(1 for count in per_worker.values() if count) == 2:
                break
        assert sorted(count > 0 for count in per_worker.values()) == [True, True], per_worker
        assert sum(per_worker.values()) == sent

        scrapes = [
            (await client.get("/metrics", headers={"Connection": "close"})).text for _ in range(8)
        ]
    assert [_healthz_requests(text) for text in scrapes] == [sent] * 8


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_worker_that_fails_to_start_ends_the_process_with_a_failure_status(
    mongodb_uri: str, rabbitmq_url: str, database_name: str, tmp_path: Path, workers: str
) -> None:
    """A signing key file that is no key passes the settings and fails the workers' start:
    the process must exit non-zero (uvicorn's supervisor of several workers exits 0 then)."""
    key_file = tmp_path / "not-a-key.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    env = process_env(
        mongodb_uri,
        rabbitmq_url,
        database_name,
        tmp_path,
        free_port(),
        LOGIN_WORKERS=workers,
        LOGIN_JWT_PRIVATE_KEY_FILE=str(key_file),
    )
    done = subprocess.run(
        [sys.executable, "-m", "login_service"], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 3, done.stderr.decode()[-2000:]


@pytest.mark.parametrize("value", ["", "/nowhere/jwt_private_key.pem"])
def test_a_key_file_setting_that_names_no_file_is_refused_before_start(
    tmp_path: Path, value: str
) -> None:
    env = {
        **os.environ,
        "LOGIN_ENVIRONMENT": "production",
        "LOGIN_RABBITMQ_URL": "amqp://login:s3cret-broker@127.0.0.1:5672/",
        "LOGIN_DEVICE_TOKEN_KEY": "d" * 40,
        "LOGIN_JWT_PRIVATE_KEY_FILE": value,
    }
    done = subprocess.run(
        [sys.executable, "-m", "login_service"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"refusing_to_start" in done.stderr
    assert b"LOGIN_JWT_PRIVATE_KEY" in done.stderr
    assert b"Traceback" not in done.stderr
