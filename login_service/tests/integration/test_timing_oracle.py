"""The work a login does: no timing oracle, and a transaction only for the first login."""

from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

import login_service.container
from login_service.guard.passwords import PasswordHasher, Verification
from tests.support import TEST_PASSWORD, account_payload, insert_accounts, running_app

pytestmark = pytest.mark.integration


class CommandLog(monitoring.CommandListener):
    """Every command the service sends to MongoDB, as (command, collection)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.commands.append((event.command_name, target if isinstance(target, str) else ""))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> tuple[CommandLog, list[bool]]:
    """Record the app's MongoDB commands and its Argon2 verifications (True: a real hash)."""
    commands = CommandLog()
    verifications: list[bool] = []

    def client_with_log(settings: Any, listeners: Any = ()) -> AsyncMongoClient[dict[str, Any]]:
        return AsyncMongoClient(
            settings.mongodb_uri.get_secret_value(),
            tz_aware=True,
            serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
            event_listeners=[commands, *listeners],
        )

    original_verify = PasswordHasher.verify

    async def counting_verify(
        self: PasswordHasher, password: str, stored_hash: str | None, *, owner: bool = False
    ) -> Verification:
        verifications.append(stored_hash is not None)
        return await original_verify(self, password, stored_hash, owner=owner)

    monkeypatch.setattr(login_service.container, "create_client", client_with_log)
    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return commands, verifications


async def test_unknown_account_and_wrong_password_do_the_same_database_and_hashing_work(
    make_settings: Any, mongo: Any, work: tuple[CommandLog, list[bool]]
) -> None:
    commands, verifications = work
    async with running_app(make_settings()) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        client.cookies.clear()  # an untrusted client, like an attacker's
        trace: dict[str, tuple[list[tuple[str, str]], list[bool], int]] = {}
        for name, identifier in (("wrong", "user1"), ("unknown", "nobody1")):
            commands.commands.clear()
            verifications.clear()
            response = await client.post(
                "/v1/auth/login", json={"identifier": identifier, "password": "not-the-password"}
            )
            trace[name] = (list(commands.commands), list(verifications), response.status_code)

    wrong_commands, wrong_verified, wrong_status = trace["wrong"]
    unknown_commands, unknown_verified, unknown_status = trace["unknown"]
    assert wrong_status == unknown_status == 401
    assert wrong_commands == unknown_commands
    assert [name for name, _ in wrong_commands] == ["find", "find", "update"]
    assert wrong_verified == [True]
    assert len(unknown_verified) == 1, "an unknown account still costs one Argon2 verification"


def _verifications(app: Any) -> dict[str, float]:
    """The hasher's verifications so far, by the parameters of the hash verified against."""
    registry = app.state.services.metrics.registry
    return {
        sample.labels["parameters"]: sample.value
        for metric in registry.collect()
        if metric.name == "login_password_verifications"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


async def test_after_raising_the_argon2_cost_a_wrong_password_at_an_old_hash_does_the_same_work(
    make_settings: Any, mongo: Any, database_name: str
) -> None:
    [username] = await insert_accounts(mongo, database_name, 1)  # hashed at t=2
    work: dict[str, dict[str, float]] = {}
    async with running_app(make_settings(argon2_time_cost=3)) as (app, client):
        for identifier in (username, "nobody1", username):
            password = TEST_PASSWORD if len(work) == 2 else "not-the-password"
            before = _verifications(app)
            response = await client.post(
                "/v1/auth/login", json={"identifier": identifier, "password": password}
            )
            after = _verifications(app)
            work[f"{identifier}:{response.status_code}"] = {
                parameters: count - before.get(parameters, 0)
                for parameters, count in after.items()
                if count != before.get(parameters, 0)
            }

    old, current, padding = "m=19456,t=2,p=1", "m=19456,t=3,p=1", "m=19456,t=1,p=1"
    assert work["nobody1:401"] == {current: 1}
    assert work[f"{username}:401"] == {old: 1, padding: 1}, "t=2, then the pass t=3 adds"
    assert work[f"{username}:200"] == {old: 1}, "a success verifies once (then rehashes)"


async def test_throttled_known_and_unknown_accounts_do_the_same_work_and_no_hashing(
    make_settings: Any, mongo: Any, work: tuple[CommandLog, list[bool]]
) -> None:
    commands, verifications = work
    settings = make_settings(throttle_identifier_max_failures=1)
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        client.cookies.clear()
        trace: dict[str, tuple[list[tuple[str, str]], int, int]] = {}
        for identifier in ("user1", "nobody1"):
            body = {"identifier": identifier, "password": "not-the-password"}
            assert (await client.post("/v1/auth/login", json=body)).status_code == 401
            commands.commands.clear()
            verifications.clear()
            response = await client.post("/v1/auth/login", json=body)
            trace[identifier] = (list(commands.commands), len(verifications), response.status_code)

    assert trace["user1"] == trace["nobody1"]
    assert trace["user1"][1:] == (0, 429)


async def test_only_the_first_login_runs_a_transaction(
    make_settings: Any, mongo: Any, work: tuple[CommandLog, list[bool]]
) -> None:
    commands, _ = work
    credentials = {"identifier": "user1", "password": TEST_PASSWORD}
    async with running_app(make_settings()) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        commands.commands.clear()
        assert (await client.post("/v1/auth/login", json=credentials)).status_code == 200
        first = [name for name, _ in commands.commands]
        commands.commands.clear()
        assert (await client.post("/v1/auth/login", json=credentials)).status_code == 200
        ordinary = [name for name, _ in commands.commands]

    assert first.count("commitTransaction") == 1
    assert "commitTransaction" not in ordinary
    assert "abortTransaction" not in ordinary
