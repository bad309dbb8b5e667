"""Each service's own broker user, with the rights deploy/rabbitmq/service-users.sh grants.

A per-test vhost on the real broker holds the two users; the consumer runs as the promotion
user and handles only what the login user sent.
"""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractConnection
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.consumer.topology import declare_topology
from promotion_service.db import VOUCHERS, prepare_database
from promotion_service.logs import configure_logging
from tests.conftest import repo_root
from tests.factories import eventually, first_login_event, publish, queue_depth
from tests.integration.test_consumer_in_process import running_consumer

CTL_TIMEOUT_SECONDS = 120


def rabbitmqctl(*args: str) -> str:
    executable = shutil.which("rabbitmqctl", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to create the test's broker users (rabbitmq-server)")
    result = subprocess.run(
        [executable, "-q", *args],
        capture_output=True,
        text=True,
        timeout=CTL_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"rabbitmqctl {args[0]} failed: {result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class BrokerUsers:
    vhost: str
    login_url: str
    promotion_url: str
    other_url: str  # a third credential with every right: it still cannot pose as the login
    login_user: str


def _url(base: str, user: str, password: str, vhost: str) -> str:
    parts = urlsplit(base)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, "/" + quote(vhost, safe=""), "", ""))


@pytest.fixture
def broker_users(rabbitmq_url: str) -> Iterator[BrokerUsers]:
    suffix = uuid.uuid4().hex[:10]
    vhost, login, promotion = f"test-users-{suffix}", f"login-{suffix}", f"promotion-{suffix}"
    login_password, promotion_password = uuid.uuid4().hex, uuid.uuid4().hex
    base = urlsplit(rabbitmq_url)
    admin, admin_password = base.username or "guest", base.password or "guest"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, admin, ".*", ".*", ".*")
        script = repo_root() / "deploy" / "rabbitmq" / "service-users.sh"
        subprocess.run(
            ["bash", str(script)],
            env={
                **os.environ,
                "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin",
                "BROKER_VHOST": vhost,
                "LOGIN_BROKER_USER": login,
                "LOGIN_BROKER_PASSWORD": login_password,
                "PROMOTION_BROKER_USER": promotion,
                "PROMOTION_BROKER_PASSWORD": promotion_password,
            },
            check=True,
            capture_output=True,
            timeout=CTL_TIMEOUT_SECONDS,
        )
        yield BrokerUsers(
            vhost=vhost,
            login_url=_url(rabbitmq_url, login, login_password, vhost),
            promotion_url=_url(rabbitmq_url, promotion, promotion_password, vhost),
            other_url=_url(rabbitmq_url, admin, admin_password, vhost),
            login_user=login,
        )
    finally:
        rabbitmqctl("delete_vhost", vhost)
        for user in (login, promotion):
            subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False, timeout=60)


@pytest.fixture
async def promotion_settings(
    broker_users: BrokerUsers,
    mongodb_uri: str,
    mongo_client: AsyncMongoClient[dict[str, object]],
) -> AsyncIterator[Settings]:
    """The consumer as deployed: its own user, the production names, in the test's vhost."""
    settings = Settings(
        mongodb_uri=mongodb_uri,
        rabbitmq_url=broker_users.promotion_url,
        trusted_publisher=broker_users.login_user,
        mongodb_database=f"promotion_users_{uuid.uuid4().hex[:10]}",
        consumer_metrics_port=0,
        retry_base_delay_seconds=0.05,
        retry_max_delay_seconds=0.2,
    )
    await prepare_database(mongo_client[settings.mongodb_database], settings)
    yield settings
    await mongo_client.drop_database(settings.mongodb_database)


async def _connect(url: str) -> AbstractConnection:
    return await aio_pika.connect(url, timeout=10)


async def _login_declares_exchange(url: str, settings: Settings) -> None:
    connection = await _connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(
            settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )


async def test_each_user_is_refused_the_other_services_names(
    broker_users: BrokerUsers, promotion_settings: Settings
) -> None:
    settings = promotion_settings
    await _login_declares_exchange(broker_users.login_url, settings)
    promotion = await _connect(broker_users.promotion_url)
    login = await _connect(broker_users.login_url)
    async with promotion, login:
        # The consumer declares and binds its whole topology with its own rights.
        await declare_topology(await promotion.channel(), settings)

        channel = await login.channel()
        queue = await channel.declare_queue(settings.queue_name, passive=True)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await queue.get(no_ack=True, fail=False)

        channel = await promotion.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(settings.events_exchange, passive=True)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await exchange.publish(
                aio_pika.Message(b"{}", user_id=settings.broker_user),
                settings.first_login_routing_key,
            )

        channel = await login.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(settings.events_exchange, passive=True)
        # The broker itself refuses a user_id that is not the connection's user.
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
            await exchange.publish(
                aio_pika.Message(b"{}", user_id=settings.broker_user),
                settings.first_login_routing_key,
            )


async def test_events_from_anyone_but_the_login_user_are_dead_lettered_unhandled(
    broker_users: BrokerUsers,
    promotion_settings: Settings,
    mongo_client: AsyncMongoClient[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = promotion_settings
    db = mongo_client[settings.mongodb_database]
    configure_logging(json_logs=True)  # to the stream the test captures
    await _login_declares_exchange(broker_users.login_url, settings)
    async with running_consumer(settings):
        other = await _connect(broker_users.other_url)
        login = await _connect(broker_users.login_url)
        async with other, login:
            forger = await other.channel(publisher_confirms=True)
            other_user = urlsplit(broker_users.other_url).username or ""
            # Slots 1 and 2 claimed by a credential that is not the login service's.
            await publish(forger, settings, first_login_event(1, "acct-forged-1"), user_id=None)
            await publish(
                forger, settings, first_login_event(2, "acct-forged-2"), user_id=other_user
            )
            real = await login.channel(publisher_confirms=True)
            await publish(
                real, settings, first_login_event(3, "acct-real"), user_id=broker_users.login_user
            )

            async def settled() -> bool:
                dead, _ = await queue_depth(forger, settings.dead_letter_queue)
                ready, _ = await queue_depth(forger, settings.queue_name)
                return dead == 2 and ready == 0 and await db[VOUCHERS].count_documents({}) == 1

            await eventually(settled, timeout=60, what="2 dead letters and 1 voucher")
            await asyncio.sleep(0.5)  # nothing else arrives late
    vouchers = [doc["account_id"] async for doc in db[VOUCHERS].find({})]
    assert vouchers == ["acct-real"]
    logged = capsys.readouterr().err
    assert logged.count("untrusted sender") == 2, logged[-2000:]


async def test_a_consumer_started_before_the_login_service_waits_for_the_exchange_then_consumes(
    broker_users: BrokerUsers,
    promotion_settings: Settings,
    mongo_client: AsyncMongoClient[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The promotion user may not declare the events exchange: before the login service has
    declared it, the consumer's start is refused by the broker, and must wait, not crash."""
    settings = promotion_settings
    db = mongo_client[settings.mongodb_database]
    configure_logging(json_logs=True)  # to the stream the test captures
    logged: list[str] = []
    stop = asyncio.Event()
    consumer = FirstLoginConsumer(settings, metrics=ConsumerMetrics())
    task = asyncio.create_task(consumer.run(stop))
    try:

        async def refused_and_waiting() -> bool:
            logged.append(capsys.readouterr().err)
            return "ACCESS_REFUSED" in "".join(logged)

        await eventually(refused_and_waiting, timeout=60, what="the refusal to be logged")
        assert "rabbitmq_topology" in "".join(logged), "the log names what it waits for"
        assert not task.done(), "the consumer must wait for the exchange, not stop"
        assert not consumer.consuming.is_set()

        await _login_declares_exchange(broker_users.login_url, settings)
        await asyncio.wait_for(consumer.consuming.wait(), timeout=90)

        login = await _connect(broker_users.login_url)
        async with login:
            channel = await login.channel(publisher_confirms=True)
            event = first_login_event(1, "acct-after-wait")
            await publish(channel, settings, event, user_id=broker_users.login_user)

            async def granted() -> bool:
                return await db[VOUCHERS].count_documents({"account_id": "acct-after-wait"}) == 1

            await eventually(
                granted, timeout=60, what="the voucher of the event sent after the wait"
            )
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    started = "".join(logged) + capsys.readouterr().err
    assert "consumer_started" in started
    assert broker_users.login_user in started, "the trusted senders are logged at start-up"
