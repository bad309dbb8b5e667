"""`python -m devstack`: run the whole system locally, stop all of it on Ctrl-C or SIGTERM.

Policy when a process dies: the stack stops, loudly, with a non-zero exit code. A silent
restart would hide the crash; rerun `make dev` once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Mapping

import httpx

from devstack.broker_users import (
    announced_brokers,
    create_service_users,
    given_broker_urls,
    stack_users,
)
from devstack.config import StackConfig, consumer_metrics_ports, redact_credentials, service_env
from devstack.console import Console
from devstack.infra import (
    StackError,
    await_standin_uri,
    ensure_local_rabbitmq,
    standin_process,
)
from devstack.processes import ManagedProcess

INFRASTRUCTURE = frozenset({"mongodb"})


class Stack:
    """Every process one run started, stopped in reverse order of start."""

    def __init__(self, config: StackConfig, console: Console, env: Mapping[str, str]) -> None:
        self.config = config
        self.console = console
        self.env = env
        self.processes: list[ManagedProcess] = []

    async def start(self, process: ManagedProcess) -> ManagedProcess:
        self.console.info(f"starting {process.name}: {' '.join(process.argv)}")
        await process.start()
        self.processes.append(process)
        return process

    def service(
        self, name: str, project: str, module: str, env: Mapping[str, str]
    ) -> ManagedProcess:
        project_dir = str(self.config.repo_root / project)
        argv = ["uv", "run", "--frozen", "--project", project_dir, "python", "-m", module]
        return ManagedProcess(name, argv, env=env, cwd=self.config.repo_root, console=self.console)

    async def stop_all(self) -> None:
        """The services together, then the servers they used (the stand-in) last."""
        services = [p for p in self.processes if p.name not in INFRASTRUCTURE]
        servers = [p for p in self.processes if p.name in INFRASTRUCTURE]
        for group in (services, servers):
            running = [process for process in group if process.running]
            if running:
                self.console.info(f"stopping {', '.join(p.name for p in running)}")
            await asyncio.gather(*(process.stop() for process in group))


async def run(config: StackConfig, console: Console, env: Mapping[str, str]) -> int:
    """Start everything, print the URLs when both APIs are ready, run until stopped."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    stack = Stack(config, console, env)
    for name in ("mongodb", "login", "promo-api", *consumer_names(config.consumers)):
        console.register(name)
    try:
        return await _run(stack, stop_requested)
    except StackError as error:
        console.alarm(str(error))
        return 1
    finally:
        await stack.stop_all()
        console.info("stopped everything this run started")


async def _run(stack: Stack, stop_requested: asyncio.Event) -> int:
    mongodb_uri = await _start_mongodb(stack)
    broker_users = await _prepare_rabbitmq(stack)
    if stop_requested.is_set():
        return 0
    env = {**service_env(stack.config, stack.env, mongodb_uri), **broker_users}
    await _start_services(stack, env, own_broker_users=bool(broker_users))
    return await _supervise(stack, stop_requested, mongodb_uri, env)


async def _start_mongodb(stack: Stack) -> str:
    """The stand-in's URI once it is up, or the one the environment gave (nothing started)."""
    config, console = stack.config, stack.console
    if config.mongodb_uri is not None:
        console.info("using MONGODB_URI from the environment; no stand-in started")
        return config.mongodb_uri
    standin_env = {k: v for k, v in stack.env.items() if k != "VIRTUAL_ENV"}
    database = config.data_dir / "mongodb.sqlite3"
    standin = standin_process(config.repo_root, database, standin_env, console)
    await stack.start(standin)
    mongodb_uri = await await_standin_uri(standin)
    console.info(f"MongoDB stand-in ready (data in {config.data_dir})")
    return mongodb_uri


async def _prepare_rabbitmq(stack: Stack) -> dict[str, str]:
    """The local broker running, and the services' own users on it (none with RABBITMQ_URL)."""
    config, console = stack.config, stack.console
    if config.rabbitmq_url is not None:
        console.info("using RABBITMQ_URL from the environment")
        return {}
    if await ensure_local_rabbitmq(
        console, stack.env, host=config.local_rabbitmq_host, port=config.local_rabbitmq_port
    ):
        node = stack.env.get("RABBITMQ_NODENAME")
        how = f"rabbitmqctl -n {node} stop" if node else "rabbitmqctl stop"
        console.info(f"RabbitMQ keeps running after this run; stop it with `{how}`")
    return await _local_broker_users(stack)


async def _start_services(stack: Stack, env: Mapping[str, str], *, own_broker_users: bool) -> None:
    """The two APIs, then the consumers (after the login API is ready if they have a broker
    user of their own)."""
    config = stack.config
    # Every process passes on the OTEL_* variables (tracing, off unless they ask for it)
    # under a service name of its own.
    login_env = {**env, "OTEL_SERVICE_NAME": "login-api"}
    await stack.start(stack.service("login", "login_service", "login_service", login_env))
    api_env = {**env, "OTEL_SERVICE_NAME": "promotion-api"}
    await stack.start(stack.service("promo-api", "promotion_service", "promotion_service", api_env))
    if own_broker_users:
        # The consumers' own user may only look up the events exchange, which the login API
        # declares on its readiness check: the consumers start once it is ready.
        await _wait_ready(config, {f"{config.login_url}/readyz"})
    ports = consumer_metrics_ports(env, config.consumers)
    for name, port in zip(consumer_names(config.consumers), ports, strict=True):
        consumer_env = {
            **env,
            "PROMOTION_CONSUMER_METRICS_PORT": str(port),
            "OTEL_SERVICE_NAME": "promotion-consumer",
        }
        module = "promotion_service.consumer"
        await stack.start(stack.service(name, "promotion_service", module, consumer_env))


async def _supervise(
    stack: Stack, stop_requested: asyncio.Event, mongodb_uri: str, env: Mapping[str, str]
) -> int:
    """Announce the stack once both APIs are ready, then run until a stop or a death."""
    config, console = stack.config, stack.console
    deaths = asyncio.create_task(_first_death(stack.processes))
    stop = asyncio.create_task(stop_requested.wait())
    ready = asyncio.create_task(_wait_ready(config))
    try:
        done, _ = await asyncio.wait({deaths, stop, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            ready.result()  # raises StackError when the APIs did not become ready in time
            _announce(config, mongodb_uri, console, env)
            done, _ = await asyncio.wait({deaths, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (deaths, stop, ready):
            task.cancel()
    if deaths in done:
        name, code = deaths.result()
        console.alarm(
            f"{name} exited with code {code}: stopping the whole stack (see its last lines above)"
        )
        return 1
    console.info("stop requested")
    return 0


def consumer_names(count: int) -> list[str]:
    return [f"consumer-{index}" for index in range(1, count + 1)]


async def _first_death(processes: list[ManagedProcess]) -> tuple[str, int]:
    waits = {asyncio.create_task(process.wait()): process for process in processes}
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    task = done.pop()
    return waits[task].name, task.result()


async def _wait_ready(config: StackConfig, urls: set[str] | None = None) -> None:
    deadline = time.monotonic() + config.ready_timeout
    pending = urls or {f"{config.login_url}/readyz", f"{config.promotion_url}/readyz"}
    async with httpx.AsyncClient(timeout=3.0) as client:
        while pending:
            if time.monotonic() > deadline:
                raise StackError(
                    f"not ready after {config.ready_timeout:.0f} s: "
                    f"{', '.join(sorted(pending))} (DEV_READY_TIMEOUT raises it)"
                )
            for url in list(pending):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        pending.discard(url)
            if pending:
                await asyncio.sleep(0.5)


async def _local_broker_users(stack: Stack) -> dict[str, str]:
    """Each service's own user on the local broker, unless the developer gave their URLs."""
    config, console = stack.config, stack.console
    given = given_broker_urls(stack.env)
    if given:
        console.info(f"{' and '.join(given)} set: used as given, no broker users created")
        return {}
    made = await create_service_users(
        config.repo_root,
        config.data_dir,
        stack.env,
        host=config.local_rabbitmq_host,
        port=config.local_rabbitmq_port,
    )
    if isinstance(made, str):
        console.info(f"{made}; both services use the local guest user")
        return {}
    login_user, promotion_user = stack_users(config.data_dir)
    console.info(f"RabbitMQ users {login_user} and {promotion_user} ready (own names only)")
    return made


def _announce(
    config: StackConfig, mongodb_uri: str, console: Console, env: Mapping[str, str]
) -> None:
    lines = [
        "ready:",
        f"  login API      {config.login_url}   (Swagger UI {config.login_url}/docs)",
        f"  promotion API  {config.promotion_url}   (Swagger UI {config.promotion_url}/docs)",
        f"  consumers      {config.consumers}",
        f"  MongoDB        {redact_credentials(mongodb_uri)}",
        *(f"  RabbitMQ       {who:<10} {url}" for who, url in announced_brokers(env)),
        "Ctrl-C stops everything.",
    ]
    for line in lines:
        console.info(line)
    sys.stdout.flush()
