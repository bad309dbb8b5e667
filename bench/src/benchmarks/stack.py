"""The processes a run needs, on free ports, with per-run broker names and databases."""

import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack.infra import await_standin_uri, standin_process
from devstack.processes import ManagedProcess

from benchmarks.broker import ROUTING_KEY, BrokerNames
from benchmarks.processes import ProcessGroups, free_port, wait_until_ready
from benchmarks.progress import say

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
LOGIN_DATABASE = "login"
PROMOTION_DATABASE = "promotion"
FIRST_LOGIN_CAMPAIGN = "first-login"
# The login service's outbox poll (1 s by default) waits its turn on a slow database, so its
# idle rate, subtracted over a long window, would eat the operations' own CPU and commands.
RELAY_POLL_SECONDS = 3600


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
    login_database: str = LOGIN_DATABASE
    promotion_database: str = PROMOTION_DATABASE
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
        uv = shutil.which("uv")
        if uv is None:
            raise RuntimeError("uv is not on PATH")
        self.uv = uv

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
        return [self.uv, "run", "--frozen", "--project", str(self.repo / project), *args]

    def base_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("LOGIN_", "PROMOTION_", "VIRTUAL_ENV"))
        }
        env.setdefault("UV_PYTHON_DOWNLOADS", "never")
        env["MONGODB_URI"] = self.mongodb_uri
        env["RABBITMQ_URL"] = self.rabbitmq_url
        return env

    def login_env(self) -> dict[str, str]:
        return (
            self.base_env()
            | {
                "LOGIN_PORT": str(self.login_port),
                "LOGIN_WORKERS": str(self.http_workers),
                "LOGIN_MONGODB_DATABASE": self.login_database,
                "LOGIN_EVENTS_EXCHANGE": self.names.exchange,
                "LOGIN_FIRST_LOGIN_ROUTING_KEY": ROUTING_KEY,
                "LOGIN_DEV_KEY_DIR": str(self.work / "keys"),
                "LOGIN_LOG_FORMAT": "json",
                # Registrations come from one address here; the default budget (20 an hour per
                # network) would refuse the run's registrations after the twentieth.
                "LOGIN_THROTTLE_REGISTRATION_MAX_ATTEMPTS": "1000000",
                # A first login wakes the relay, which publishes at once; its fallback poll
                # is background work paced by the database's speed (see RELAY_POLL_SECONDS).
                "LOGIN_OUTBOX_POLL_INTERVAL_SECONDS": str(RELAY_POLL_SECONDS),
            }
            | self.login_throttle
            | self.login_tracing
        )

    def promotion_env(
        self, campaign_id: str = FIRST_LOGIN_CAMPAIGN, slots: int = 1_000_000
    ) -> dict[str, str]:
        return self.base_env() | {
            "PROMOTION_PORT": str(self.promotion_port),
            "PROMOTION_WORKERS": str(self.http_workers),
            "PROMOTION_MONGODB_DATABASE": self.promotion_database,
            "PROMOTION_JWKS_URL": f"{self.login_url}/.well-known/jwks.json",
            "PROMOTION_EVENTS_EXCHANGE": self.names.exchange,
            "PROMOTION_FIRST_LOGIN_ROUTING_KEY": ROUTING_KEY,
            "PROMOTION_QUEUE_NAME": self.names.queue,
            "PROMOTION_DEAD_LETTER_EXCHANGE": self.names.dead_letter_exchange,
            "PROMOTION_DEAD_LETTER_QUEUE": self.names.dead_letter_queue,
            "PROMOTION_CAMPAIGN_ID": campaign_id,
            "PROMOTION_CAMPAIGN_SLOTS": str(slots),
            "PROMOTION_CONSUMER_METRICS_PORT": "0",
            "PROMOTION_LOG_FORMAT": "json",
        }

    async def start_standin(self, path: Path | None = None) -> None:
        if self.external_mongodb_uri:
            return
        self.standin = await self.groups.add(
            standin_process(
                self.repo,
                path or self.db_path,
                self.base_env(),
                self.groups.console,
                name="standin",
                log_file=self.groups.log_path("standin"),
            )
        )
        self.mongodb_uri = await await_standin_uri(self.standin)

    async def stop_standin(self) -> None:
        if self.standin is not None:
            await self.groups.stop(self.standin)
            self.standin = None

    async def start_login(self) -> ManagedProcess:
        self.login_port = self.login_port or free_port()
        argv = self.uv_run("login_service", "python", "-m", "login_service")
        child = await self.groups.start("login", argv, env=self.login_env(), cwd=self.work)
        await wait_until_ready(child, f"{self.login_url}/readyz")
        return child

    async def start_promotion_api(self) -> ManagedProcess:
        self.promotion_port = self.promotion_port or free_port()
        argv = self.uv_run("promotion_service", "python", "-m", "promotion_service")
        child = await self.groups.start(
            "promotion-api", argv, env=self.promotion_env(), cwd=self.work
        )
        await wait_until_ready(child, f"{self.promotion_url}/readyz")
        return child

    async def start_consumer(self, name: str, campaign_id: str, slots: int) -> ManagedProcess:
        argv = self.uv_run("promotion_service", "python", "-m", "promotion_service.consumer")
        port = free_port()
        env = self.promotion_env(campaign_id, slots) | {
            "PROMOTION_CONSUMER_NAME": name,
            "PROMOTION_CONSUMER_METRICS_PORT": str(port),
        }
        self.consumer_metrics[name] = f"http://127.0.0.1:{port}/metrics"
        return await self.groups.start(name, argv, env=env, cwd=self.work)

    async def start_lean(self) -> ManagedProcess:
        """The lean app (``lean_app``), reading the login service's JWKS."""
        self.bare_port = free_port()
        argv = [sys.executable, "-m", "benchmarks.lean_app", str(self.bare_port)]
        argv.append(str(self.http_workers))
        env = self.base_env() | {
            "REFERENCE_JWKS_URL": f"{self.login_url}/.well-known/jwks.json",
            # The login service's development key (LOGIN_DEV_KEY_DIR): the lean login signs
            # with the same RSA key size.
            "REFERENCE_SIGNING_KEY_FILE": str(self.work / "keys" / "jwt-rs256.pem"),
            "REFERENCE_WORKERS": str(self.http_workers),
            "REFERENCE_LOGIN_DATABASE": self.login_database,
            "REFERENCE_PROMOTION_DATABASE": self.promotion_database,
        }
        self.lean = await self.groups.start("lean", argv, env=env, cwd=self.work)
        await wait_until_ready(self.lean, f"{self.lean_url}/healthz")
        return self.lean

    async def run_probe(self, project: str, script: str, *args: str) -> str:
        """Run one of ``probes/`` in another project's environment; return its last stdout line."""
        path = Path(__file__).parent / "probes" / script
        argv = self.uv_run(project, "python", str(path), *args)
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
