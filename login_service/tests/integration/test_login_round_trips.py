"""The database work of each login path, counted by the service's own command listener."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration

RIGHT = {"identifier": "user1", "password": TEST_PASSWORD}
WRONG = {"identifier": "user1", "password": "not the password"}


def _commands(app: FastAPI) -> dict[str, float]:
    counter = app.state.services.metrics.mongodb_commands
    return {
        sample.labels["command"]: sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name == "mongodb_commands_total"
    }


async def _commands_of(app: FastAPI, request: Any) -> dict[str, int]:
    before = _commands(app)
    await request
    after = _commands(app)
    return {
        name: int(after[name] - before.get(name, 0))
        for name in after
        if after[name] != before.get(name, 0)
    }


async def test_each_login_path_makes_only_its_round_trips(make_settings: Any, mongo: Any) -> None:
    settings = make_settings(throttle_identifier_max_failures=1)
    async with running_app(settings) as (app, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        client.cookies.clear()
        first = await _commands_of(app, client.post("/v1/auth/login", json=RIGHT))
        later = await _commands_of(app, client.post("/v1/auth/login", json=RIGHT))
        client.cookies.clear()
        failed = await _commands_of(app, client.post("/v1/auth/login", json=WRONG))
        refused = await _commands_of(app, client.post("/v1/auth/login", json=WRONG))
        metrics = await client.get("/metrics")

    # Read the account, read the budgets' windows, then the first login's one transaction.
    assert first == {
        "find": 2,
        "findAndModify": 1,
        "update": 1,
        "insert": 1,
        "commitTransaction": 1,
    }
    assert later == {"find": 2, "update": 1}, "a later login: two reads and one write"
    assert failed == {"find": 2, "update": 1}, "a failure counts in every window at once"
    assert refused == {"find": 2}, "a refused attempt writes nothing"
    assert 'mongodb_commands_total{command="find"}' in metrics.text


async def test_the_metrics_name_every_command_the_service_sent(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/auth/login", json=WRONG)

    text = (await client.get("/metrics")).text

    for command in ("createIndexes", "find", "update"):
        assert f'mongodb_commands_total{{command="{command}"}}' in text, command
