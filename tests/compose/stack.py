"""One compose stack of a test: the committed files, started with the real Compose CLI on the
project's engine (scripts/compose.sh), reached through the proxy on 127.0.0.1, and torn down
with its volumes whatever the test's outcome."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.harness import StackUrls

REPO_ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT_SECONDS = 300
COMMAND_TIMEOUT_SECONDS = 600
PROXY_PORT = int(os.environ.get("PROXY_PORT", "8080"))


def engine_mode() -> str:
    """`local` (the project's own engine: MongoDB is the stand-in), `registry`, or `unknown`."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "docker-engine.sh"), "mode"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()[0] if result.returncode == 0 and result.stdout else "unknown"


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ComposeStack:
    """A compose project of its own name; `compose(...)` runs `docker compose` on it."""

    name: str
    environment: dict[str, str]
    production: bool = False
    started: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PROXY_PORT}"

    @property
    def urls(self) -> StackUrls:
        """Both APIs behind the one proxy, as the end-to-end helpers take them."""
        return StackUrls(
            login=self.url,
            promotion=self.url,
            login_health=f"{self.url}/login",
            promotion_health=f"{self.url}/promotion",
            owned=False,
        )

    def compose(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> subprocess.CompletedProcess[str]:
        argv = ["bash", str(REPO_ROOT / "scripts" / "compose.sh")]
        if self.production:
            argv.append("--production")
        result = subprocess.run(
            [*argv, *args],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "COMPOSE_PROJECT_NAME": self.name,
                "COMPOSE_QUIET_SUBSTITUTION": "1",
                "PROXY_PORT": str(PROXY_PORT),
                **self.environment,
            },
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def up(self, *options: str) -> None:
        self.compose(
            "up", "--detach", "--no-build", "--wait", "--wait-timeout", str(UP_TIMEOUT_SECONDS),
            *options,
        )  # fmt: skip

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "60", check=False)

    def containers(self, service: str) -> list[str]:
        """Names of the service's containers, running or not, in replica order."""
        listed = self.compose("ps", "--all", "--format", "json", service).stdout
        rows = [json.loads(line) for line in listed.splitlines() if line.strip()]
        return sorted(str(row["Name"]) for row in rows)

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The engine's own client (kill, logs, ...), on the engine DOCKER_HOST names (the
        session's engine fixture sets it)."""
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
        result = subprocess.run(
            [client, *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stderr}")
        return result

    def logs(self, container: str) -> str:
        result = self.docker("logs", container)
        return result.stdout + result.stderr

    def json_lines(self, container: str, event: str) -> list[dict[str, object]]:
        """The container's structured log lines of one event (every line since it was made,
        across restarts)."""
        lines = []
        for line in self.logs(container).splitlines():
            if line.startswith("{") and f'"event":"{event}"' in line.replace(" ", ""):
                lines.append(json.loads(line))
        return lines

    def exec(self, service: str, *command: str, index: int = 1) -> str:
        return self.compose("exec", "-T", "--index", str(index), service, *command).stdout

    def queues(self) -> dict[str, int]:
        """Messages in each queue (ready and unacknowledged), read inside the broker's container."""
        out = self.exec(
            "rabbitmq", "rabbitmqctl", "-q", "list_queues", "name", "messages",
            "--no-table-headers",
        )  # fmt: skip
        counts = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
        return counts

    def wait_until_served(self, path: str = "/proxy/healthz", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + path, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.url}{path} did not answer 200 within {timeout:.0f} s")
            time.sleep(1)

    def diagnostics(self) -> str:
        status = self.compose("ps", "--all", check=False).stdout
        logs = self.compose("logs", "--no-color", "--tail", "40", check=False).stdout
        return f"{status}\n{logs}"


def stack_name(scenario: str) -> str:
    return f"banktest-{re.sub(r'[^a-z0-9]', '', scenario.lower())[:20]}-{uuid.uuid4().hex[:6]}"


@contextmanager
def compose_stack(
    scenario: str,
    environment: Mapping[str, str] | None = None,
    *up_options: str,
    production: bool = False,
) -> Iterator[ComposeStack]:
    """A stack of the scenario's own: `up` ... `down -v`, pass or fail. A failure to start
    shows the services' states and the end of their logs."""
    stack = ComposeStack(
        stack_name(scenario),
        {"RABBITMQ_MANAGEMENT_PORT": str(free_port()), **(environment or {})},
        production=production,
    )
    try:
        try:
            stack.up(*up_options)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{stack.diagnostics()}") from None
        yield stack
    finally:
        stack.down()
