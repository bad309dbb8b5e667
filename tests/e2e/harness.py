"""Starts the whole system with the local supervisor for one test session, and cleans up.

The stack gets free ports, its own stand-in database folder (or, when MONGODB_URI is set,
databases with a unique suffix on that server) and broker names with a unique prefix, so a
test run never touches another run's queues or data.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 60.0
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
CONSUMERS = 2  # consumer processes of a local stack (DEV_CONSUMERS)


@dataclass(frozen=True)
class StackUrls:
    """Where the two APIs answer, and the prefix of each one's health paths."""

    login: str
    promotion: str
    login_health: str
    promotion_health: str
    owned: bool  # True when this session started the stack (fresh data)
    mongodb_uri: str | None = None  # where the services keep their data, when known
    databases: tuple[tuple[str, str], ...] = ()  # (service, database name)
    rabbitmq_url: str | None = None  # the broker, when known
    queue: str | None = None  # the consumers' work queue, when known
    dead_letter_queue: str | None = None
    consumers: int | None = None  # consumer processes, when known
    supervisor_pid: int | None = None  # `python -m devstack`, when this session started it


def external_stack() -> StackUrls | None:
    """The stack named by LOGIN_URL and PROMOTION_URL, if both are set.

    When both name one address (a reverse proxy such as the compose one), health endpoints
    are reached under /login and /promotion. With RABBITMQ_URL set too, the work queue is
    PROMOTION_QUEUE_NAME (default promotion.first_login) on that broker.
    """
    login, promotion = os.environ.get("LOGIN_URL"), os.environ.get("PROMOTION_URL")
    if not login or not promotion:
        return None
    login, promotion = login.rstrip("/"), promotion.rstrip("/")
    shared = login == promotion
    rabbitmq_url = os.environ.get("RABBITMQ_URL") or None
    return StackUrls(
        login=login,
        promotion=promotion,
        login_health=f"{login}/login" if shared else login,
        promotion_health=f"{promotion}/promotion" if shared else promotion,
        owned=False,
        mongodb_uri=os.environ.get("MONGODB_URI") or None,
        databases=(
            ("login", os.environ.get("LOGIN_MONGODB_DATABASE", "login")),
            ("promotion", os.environ.get("PROMOTION_MONGODB_DATABASE", "promotion")),
        ),
        rabbitmq_url=rabbitmq_url,
        queue=(
            os.environ.get("PROMOTION_QUEUE_NAME", "promotion.first_login")
            if rabbitmq_url
            else None
        ),
        dead_letter_queue=(
            os.environ.get("PROMOTION_DEAD_LETTER_QUEUE", "promotion.first_login.dead")
            if rabbitmq_url
            else None
        ),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class BrokerNames:
    exchange: str
    queue: str
    dead_letter_exchange: str
    dead_letter_queue: str

    @classmethod
    def unique(cls) -> BrokerNames:
        prefix = f"e2e-{uuid.uuid4().hex[:12]}"
        return cls(
            exchange=f"{prefix}.accounts.events",
            queue=f"{prefix}.promotion.first_login",
            dead_letter_exchange=f"{prefix}.promotion.dead_letter",
            dead_letter_queue=f"{prefix}.promotion.first_login.dead",
        )

    def settings(self) -> dict[str, str]:
        return {
            "LOGIN_EVENTS_EXCHANGE": self.exchange,
            "PROMOTION_EVENTS_EXCHANGE": self.exchange,
            "PROMOTION_QUEUE_NAME": self.queue,
            "PROMOTION_DEAD_LETTER_EXCHANGE": self.dead_letter_exchange,
            "PROMOTION_DEAD_LETTER_QUEUE": self.dead_letter_queue,
        }

    def delete(self, rabbitmq_url: str) -> None:
        asyncio.run(self._delete(rabbitmq_url))

    async def _delete(self, rabbitmq_url: str) -> None:
        import aio_pika

        connection = await aio_pika.connect(rabbitmq_url, timeout=10)
        async with connection:
            channel = await connection.channel()
            for queue in (self.queue, self.dead_letter_queue):
                await channel.queue_delete(queue)
            for exchange in (self.exchange, self.dead_letter_exchange):
                await channel.exchange_delete(exchange)


class LocalStack:
    """`python -m devstack` in its own process group, output to a log file."""

    def __init__(self, workdir: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})  # e.g. the OTEL_* variables of a trace test
        self.log_path = workdir / "devstack.log"
        self.login_port, self.promotion_port = free_port(), free_port()
        self.broker = BrokerNames.unique()
        self.rabbitmq_url = os.environ.get("RABBITMQ_URL") or DEFAULT_RABBITMQ_URL
        self.mongodb_uri = os.environ.get("MONGODB_URI") or None
        suffix = uuid.uuid4().hex[:12]
        self.databases = {
            "LOGIN_MONGODB_DATABASE": f"e2e_login_{suffix}",
            "PROMOTION_MONGODB_DATABASE": f"e2e_promotion_{suffix}",
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> StackUrls:
        login = f"http://127.0.0.1:{self.login_port}"
        promotion = f"http://127.0.0.1:{self.promotion_port}"
        return StackUrls(
            login,
            promotion,
            login,
            promotion,
            owned=True,
            mongodb_uri=self.mongodb_uri or self._announced_mongodb_uri(),
            databases=(
                ("login", self.databases["LOGIN_MONGODB_DATABASE"]),
                ("promotion", self.databases["PROMOTION_MONGODB_DATABASE"]),
            ),
            rabbitmq_url=self.rabbitmq_url,
            queue=self.broker.queue,
            dead_letter_queue=self.broker.dead_letter_queue,
            consumers=CONSUMERS,
            supervisor_pid=self._process.pid if self._process is not None else None,
        )

    def _announced_mongodb_uri(self) -> str | None:
        """The stand-in's address, as the supervisor printed it once ready."""
        if not self.log_path.exists():
            return None
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            _, _, text = line.partition("|")
            if text.strip().startswith("MongoDB ") and "mongodb://" in text:
                return text.split()[-1]
        return None

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("LOGIN_", "PROMOTION_", "DEV_")) and key != "VIRTUAL_ENV"
        }
        env.update(
            LOGIN_PORT=str(self.login_port),
            PROMOTION_PORT=str(self.promotion_port),
            PROMOTION_CONSUMER_METRICS_PORT="0",
            DEV_CONSUMERS=str(CONSUMERS),
            DEV_DATA_DIR=str(self.workdir / "data"),
            DEV_ENV_FILE="",
            DEV_COLOR="never",
            DEV_READY_TIMEOUT=str(int(READY_TIMEOUT_SECONDS)),
            # The MongoDB stand-in runs one transaction at a time: 150 first logins at once
            # from one network take 15 to 18 s on two cores, past the default 10 s a login
            # may wait for a place. The longest wait allowed keeps the crowd test about the
            # throttle, not about the stand-in's speed.
            LOGIN_THROTTLE_WAIT_SECONDS="20",
            **self.broker.settings(),
            **self.databases,
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=REPO_ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        login = f"http://127.0.0.1:{self.login_port}"
        promotion = f"http://127.0.0.1:{self.promotion_port}"
        pending = [f"{login}/readyz", f"{promotion}/readyz", "the supervisor's ready message"]
        with httpx.Client(timeout=3.0) as client:
            while pending:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"the local stack exited with code {self._process.returncode} before "
                        f"it was ready; its output:\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the local stack was not ready within {READY_TIMEOUT_SECONDS:.0f} s "
                        f"({', '.join(pending)}); its output:\n{self.log_tail()}"
                    )
                if len(pending) == 1:  # both APIs answer: the supervisor announces it next
                    if self._announced_mongodb_uri() is not None:
                        pending.pop(0)
                        continue
                else:
                    try:
                        if client.get(pending[0]).status_code == 200:
                            pending.pop(0)
                            continue
                    except httpx.HTTPError:
                        pass
                time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM the supervisor (as Ctrl-C would), clean up, then check nothing is left."""
        process = self._process
        code = None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.broker.delete(self.rabbitmq_url)
        if self.mongodb_uri:
            self._drop_databases(self.mongodb_uri)
        leftovers = self._leftover_processes()
        if code != 0 or leftovers:
            raise RuntimeError(
                f"the local stack did not stop cleanly (exit {code}, still running: {leftovers});"
                f" its output:\n{self.log_tail()}"
            )

    def _leftover_processes(self) -> list[str]:
        """Processes whose command line names this stack's folder (its stand-in, for one)."""
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(self.workdir) in command:
                found.append(f"{proc.name}: {command.strip()}")
        return found

    def _drop_databases(self, uri: str) -> None:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            for name in self.databases.values():
                client.drop_database(name)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def service_processes(root_pid: int, module: str) -> list[int]:
    """The processes doing the work of `python -m module` somewhere below `root_pid`.

    Each such Python process (not the `uv run` in front of it) counts, or, when it spawned
    workers (Uvicorn with several workers), those workers instead.
    """
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(proc.name))
    found: list[int] = []
    pending = list(children.get(root_pid, []))
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        argv = _argv(pid)
        if argv[-2:] == ["-m", module] and Path(argv[0]).name.startswith("python"):
            workers = [
                child
                for child in children.get(pid, [])
                if any("multiprocessing.spawn" in arg for arg in _argv(child))
            ]
            found.extend(workers or [pid])
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def serve(local: LocalStack) -> Iterator[StackUrls]:
    """Start ``local``, yield its URLs once it is ready, stop it afterwards (a fixture body)."""
    local.start()
    try:
        try:
            local.wait_ready()
        except RuntimeError as failure:
            pytest.fail(str(failure), pytrace=False)
        yield local.urls
    finally:
        local.stop()
