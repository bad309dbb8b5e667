"""The series an operator alerts on: throttle refusals by rule, MongoDB command latency and
failures, and the build, read from ``/metrics`` as Prometheus scrapes them."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import OperationFailure

from login_service import __version__
from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration

RIGHT = {"identifier": "user1", "password": TEST_PASSWORD}
WRONG = {"identifier": "user1", "password": "not the password"}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _samples(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def settings_database(app: FastAPI) -> str:
    name: str = app.state.settings.mongodb_database
    return name


def _by(samples: dict[Any, float], name: str, label: str) -> dict[str, float]:
    return {
        dict(labels)[label]: value
        for (sample, labels), value in samples.items()
        if sample == name and label in dict(labels)
    }


async def test_each_throttle_refusal_is_counted_under_the_rule_that_refused(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(throttle_identifier_max_failures=2, throttle_client_max_failures=3)
    async with running_app(settings) as (_, client):
        before = _by(await _samples(client), "login_throttle_refusals_total", "rule")
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        client.cookies.clear()
        for _ in range(2):
            assert (await client.post("/v1/auth/login", json=WRONG)).status_code == 401
        by_identifier = await client.post("/v1/auth/login", json=RIGHT)
        after_identifier = _by(await _samples(client), "login_throttle_refusals_total", "rule")
        other = {"identifier": "nobody", "password": "not the password"}
        assert (await client.post("/v1/auth/login", json=other)).status_code == 401
        by_client = await client.post("/v1/auth/login", json={**other, "identifier": "else"})
        after_client = _by(await _samples(client), "login_throttle_refusals_total", "rule")
        attempts = _by(await _samples(client), "login_attempts_total", "outcome")

    # Every rule is there from the start, at 0: a rate over it works from the first refusal.
    assert before == dict.fromkeys(
        ("identifier", "client", "account", "account_day", "in_flight"), 0.0
    )
    assert by_identifier.status_code == 429
    assert after_identifier == {**before, "identifier": 1.0}
    assert by_client.status_code == 429
    assert after_client == {**before, "identifier": 1.0, "client": 1.0}
    assert attempts == {"success": 0.0, "invalid": 3.0, "throttled": 2.0, "shed": 0.0}


async def test_mongodb_commands_are_timed_and_their_failures_counted_by_name(
    make_settings: Any, mongo: Any
) -> None:
    async with running_app(make_settings()) as (app, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        before = await _samples(client)
        taken = await client.post("/v1/accounts", json=account_payload(1))
        assert (await client.post("/v1/auth/login", json=RIGHT)).status_code == 200
        # A command the server answers with an error (ok: 0), sent on the service's client.
        database = app.state.services.mongo[settings_database(app)]
        with pytest.raises(OperationFailure):
            await database.command({"countDocuments_is_no_command": 1})
        after = await _samples(client)

    def delta(name: str) -> dict[str, float]:
        old = _by(before, name, "command")
        return {
            command: value - old.get(command, 0.0)
            for command, value in _by(after, name, "command").items()
            if value != old.get(command, 0.0)
        }

    assert taken.status_code == 409
    # A duplicate key is a write error inside a successful answer: no failure. The unknown
    # command is one.
    assert delta("mongodb_command_failures_total") == {"countDocuments_is_no_command": 1.0}
    # Every command sent was answered, and each answer was timed under its own name.
    started = delta("mongodb_commands_total")
    assert started["insert"] >= 1
    assert started["find"] >= 2
    assert delta("mongodb_command_duration_seconds_count") == started
    durations = delta("mongodb_command_duration_seconds_sum")
    assert all(0 < seconds < 30 for seconds in durations.values()), durations


async def test_the_build_is_reported_with_its_version(client: httpx.AsyncClient) -> None:
    samples = await _samples(client)

    assert _by(samples, "login_build_info", "version") == {__version__: 1.0}
