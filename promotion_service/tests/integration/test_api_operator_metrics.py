"""The API's series an operator alerts on: the campaign's fill, the age of the JWKS keys,
MongoDB command latency and failures, and the build, read from ``/metrics``."""

import time
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import OperationFailure

from promotion_service import __version__, create_app
from promotion_service.config import Settings
from promotion_service.db import CAMPAIGNS, Database
from tests.integration.api_fixtures import Keys, bearer, started
from tests.jwks_server import make_token

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _samples(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _by(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {
        dict(labels)[label]: value
        for (sample, labels), value in samples.items()
        if sample == name and label in dict(labels)
    }


def _value(samples: Samples, name: str) -> float:
    return samples[(name, frozenset())]


async def test_the_campaign_fill_is_read_from_the_database_at_each_scrape(
    client: httpx.AsyncClient, db: Database
) -> None:
    await db[CAMPAIGNS].update_one({"_id": "first-login"}, {"$set": {"slots_claimed": 42}})
    first = await _samples(client)
    await db[CAMPAIGNS].update_one({"_id": "first-login"}, {"$inc": {"slots_claimed": 1}})
    second = await _samples(client)

    assert _by(first, "promotion_campaign_slots_claimed", "campaign") == {"first-login": 42}
    assert _by(first, "promotion_campaign_slots_total", "campaign") == {"first-login": 100}
    assert _by(second, "promotion_campaign_slots_claimed", "campaign") == {"first-login": 43}


async def test_the_jwks_fetch_time_is_reported_once_keys_were_fetched(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    before = await _samples(client)
    asked = time.time()
    vouchers = await client.get("/v1/vouchers", headers=bearer(make_token(keys.rs256)))
    after = await _samples(client)

    assert vouchers.status_code == 200
    assert _value(before, "promotion_jwks_keys_fetched_timestamp_seconds") == 0
    fetched = _value(after, "promotion_jwks_keys_fetched_timestamp_seconds")
    assert asked - 1 <= fetched <= time.time()


async def test_mongodb_commands_are_timed_and_their_failures_counted_by_name(
    api_settings: Settings,
) -> None:
    app: FastAPI = create_app(api_settings)
    async with started(app, "http://promotion.test") as client:
        before = await _samples(client)
        assert (await client.get("/v1/campaigns/first-login")).status_code == 200
        database = app.state.services.db
        try:  # a command the server answers with an error (ok: 0), on the API's own client
            await database.command({"no_such_command": 1})
        except OperationFailure:
            pass
        else:
            raise AssertionError("the server accepted an unknown command")
        after = await _samples(client)

    def delta(name: str) -> dict[str, float]:
        old = _by(before, name, "command")
        return {
            command: value - old.get(command, 0.0)
            for command, value in _by(after, name, "command").items()
            if value != old.get(command, 0.0)
        }

    assert delta("mongodb_command_failures_total") == {"no_such_command": 1.0}
    started_commands = delta("mongodb_commands_total")
    assert started_commands["find"] >= 1
    assert delta("mongodb_command_duration_seconds_count") == started_commands
    assert all(0 < s < 30 for s in delta("mongodb_command_duration_seconds_sum").values())


async def test_the_build_is_reported_with_its_version(client: httpx.AsyncClient) -> None:
    samples: Any = await _samples(client)

    assert _by(samples, "promotion_build_info", "version") == {__version__: 1.0}
