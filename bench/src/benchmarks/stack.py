"""The processes a run needs, on free ports, with per-run broker names and databases."""

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack.infra import await_standin_uri, standin_process, wait_until_ready
from devstack.processes import ManagedProcess

from benchmarks.broker import ROUTING_KEY, BrokerNames
from benchmarks.processes import ProcessGroups, free_port
from benchmarks.progress import say

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
FIRST_LOGIN_CAMPAIGN = "first-login"
# The login service's outbox poll (1 s by default) waits its turn on a slow database, so its
# idle rate, subtracted over a long window, would eat the operations' own CPU and commands.
RELAY_POLL_SECONDS = 3600


def _prefixed(prefix: str, values: dict[str, object]) -> dict[str, str]:
    return {prefix + name: str(value) for name, value in values.items()}


@dataclass
class Stack:
    repo: Path
    work: Path
    groups: ProcessGroups
    http_workers: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    mongodb_uri: str = ""
    standin: ManagedProcess | None = None
    # Set when the run targets a MongoDB server of the caller's (MONGODB_URI): nothing to start.
    external_mongodb_uri: str = ""
    login_database: str = "login"
    promotion_database: str = "promotion"
    login_throttle: dict[str, str] = field(default_factory=dict)  # LOGIN_THROTTLE_* overrides
    login_tracing: dict[str, str] = field(default_factory=dict)  # OTEL_* of the login API
    consumer_metrics: dict[str, str] = field(default_factory=dict)  # consumer name -> /metrics
    lean: ManagedProcess | None = None
    login_port: int = 0
    promotion_port: int = 0
    bare_port: int = 0

    def __post_init__(self) -> None:
        self.names = BrokerNames.for_run(self.run_id)
        self.rabbitmq_url = os.environ.get("RABBITMQ_URL", DEFAULT_RABBITMQ_URL)
        self.db_path = self.work / "standin.sqlite3"
        if self.external_mongodb_uri:
            self.mongodb_uri = self.external_mongodb_uri
            self.use_databases("main")

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.login_port}"

    @property
    def promotion_url(self) -> str:
        return f"http://127.0.0.1:{self.promotion_port}"

    @property
    def lean_url(self) -> str:
        return f"http://127.0.0.1:{self.bare_port}"

    def use_databases(self, tag: str) -> None:
        """On a server of the caller's, every database of the run carries the run's id."""
        if self.external_mongodb_uri:
            self.login_database = f"bench_{self.run_id}_{tag}_login"
            self.promotion_database = f"bench_{self.run_id}_{tag}_promotion"

    def uv_run(self, project: str, *args: str) -> list[str]:
        return ["uv", "run", "--frozen", "--project", str(self.repo / project), *args]

    def base_env(self) -> dict[str, str]:
        drop = ("LOGIN_", "PROMOTION_", "VIRTUAL_ENV")
        env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
        env.setdefault("UV_PYTHON_DOWNLOADS", "never")
        return env | {"MONGODB_URI": self.mongodb_uri, "RABBITMQ_URL": self.rabbitmq_url}

    def _service_env(self, prefix: str, port: int, database: str, **more: object) -> dict[str, str]:
        """What both services are given alike, under their own prefix, and ``more``."""
        return self.base_env() | _prefixed(prefix, {
            "PORT": port, "WORKERS": self.http_workers, "MONGODB_DATABASE": database,
            "EVENTS_EXCHANGE": self.names.exchange, "FIRST_LOGIN_ROUTING_KEY": ROUTING_KEY,
            "LOG_FORMAT": "json", **more,
        })  # fmt: skip

    def login_env(self) -> dict[str, str]:
        env = self._service_env(
            "LOGIN_", self.login_port, self.login_database, DEV_KEY_DIR=self.work / "keys",
            # Registrations come from one address here; the default budget (20 an hour per
            # network) would refuse the run's registrations after the twentieth.
            THROTTLE_REGISTRATION_MAX_ATTEMPTS=1_000_000,
            # A first login wakes the relay, which publishes at once; its fallback poll is
            # background work paced by the database's speed (see RELAY_POLL_SECONDS).
            OUTBOX_POLL_INTERVAL_SECONDS=RELAY_POLL_SECONDS,
        )  # fmt: skip
        return env | self.login_throttle | self.login_tracing

    def promotion_env(
        self, campaign_id: str = FIRST_LOGIN_CAMPAIGN, slots: int = 1_000_000
    ) -> dict[str, str]:
        names = self.names
        return self._service_env(
            "PROMOTION_", self.promotion_port, self.promotion_database,
            JWKS_URL=f"{self.login_url}/.well-known/jwks.json", QUEUE_NAME=names.queue,
            DEAD_LETTER_EXCHANGE=names.dead_letter_exchange,
            DEAD_LETTER_QUEUE=names.dead_letter_queue, CAMPAIGN_ID=campaign_id,
            CAMPAIGN_SLOTS=slots, CONSUMER_METRICS_PORT=0,
        )  # fmt: skip

    async def start_standin(self, path: Path | None = None) -> None:
        if self.external_mongodb_uri:
            return
        log = self.groups.log_path("standin")
        standin = standin_process(self.repo, path or self.db_path, self.base_env(),
                                  self.groups.console, name="standin", log_file=log)  # fmt: skip
        self.standin = await self.groups.add(standin)
        self.mongodb_uri = await await_standin_uri(self.standin)

    async def stop_standin(self) -> None:
        if self.standin is not None:
            await self.groups.stop(self.standin)
            self.standin = None

    async def _start(
        self, name: str, argv: list[str], env: dict[str, str], ready: str = ""
    ) -> ManagedProcess:
        """Start ``name``; with ``ready``, wait until that URL answers 200."""
        child = await self.groups.start(name, argv, env=env, cwd=self.work)
        if ready:
            await wait_until_ready(child, ready)
        return child

    async def start_login(self) -> ManagedProcess:
        self.login_port = self.login_port or free_port()
        argv = self.uv_run("login_service", "python", "-m", "login_service")
        return await self._start("login", argv, self.login_env(), f"{self.login_url}/readyz")

    async def start_promotion_api(self) -> ManagedProcess:
        self.promotion_port = self.promotion_port or free_port()
        argv = self.uv_run("promotion_service", "python", "-m", "promotion_service")
        env, ready = self.promotion_env(), f"{self.promotion_url}/readyz"
        return await self._start("promotion-api", argv, env, ready)

    async def start_consumer(self, name: str, campaign_id: str, slots: int) -> ManagedProcess:
        argv = self.uv_run("promotion_service", "python", "-m", "promotion_service.consumer")
        port = free_port()
        self.consumer_metrics[name] = f"http://127.0.0.1:{port}/metrics"
        env = self.promotion_env(campaign_id, slots) | _prefixed(
            "PROMOTION_CONSUMER_", {"NAME": name, "METRICS_PORT": port}
        )
        return await self._start(name, argv, env)

    async def start_lean(self) -> ManagedProcess:
        """The lean app (``lean_app``), reading the login service's JWKS."""
        self.bare_port = free_port()
        argv = [sys.executable, "-m", "benchmarks.lean_app", str(self.bare_port)]
        argv.append(str(self.http_workers))
        env = self.base_env() | _prefixed("REFERENCE_", {
            "JWKS_URL": f"{self.login_url}/.well-known/jwks.json",
            # The login service's development key (LOGIN_DEV_KEY_DIR): the lean login signs
            # with the same RSA key size.
            "SIGNING_KEY_FILE": self.work / "keys" / "jwt-rs256.pem",
            "WORKERS": self.http_workers,
        }) | {
            "REFERENCE_LOGIN_DATABASE": self.login_database,
            "REFERENCE_PROMOTION_DATABASE": self.promotion_database,
        }  # fmt: skip
        self.lean = await self._start("lean", argv, env, f"{self.lean_url}/healthz")
        return self.lean

    async def run_probe(self, project: str, script: str, *args: str) -> str:
        """Run one of ``probes/`` in another project's environment; return its last stdout line."""
        argv = self.uv_run(project, "python", str(Path(__file__).parent / "probes" / script), *args)
        env = self.login_env() if project == "login_service" else self.base_env()
        child = await self.groups.start(
            script.removesuffix(".py"), argv, env=env, cwd=self.work, capture_stdout=True
        )
        code, last = await child.wait(), ""
        while (line := await child.next_line()) is not None:
            last = line.strip() or last
        await self.groups.stop(child)
        if code != 0 or not last:
            raise RuntimeError(f"{script} failed (exit {code}):\n{child.log_tail()}")
        return last

    def describe(self) -> None:
        say(f"run {self.run_id}: exchange {self.names.exchange}, queue {self.names.queue}")
