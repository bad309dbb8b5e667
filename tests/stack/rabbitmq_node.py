"""A throwaway RabbitMQ node of a test's own, beside the machine's broker, on free ports.

Tests that stop or start a broker do it to such a node, so the developer's broker (and a
`make dev` stack using it) never notices. The node lives in a temporary folder owned by the
broker's system user (Debian's wrappers drop to it), with its own rabbitmq.conf naming the
listener: the machine's config pins 5672 and RABBITMQ_NODE_PORT alone does not override it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

SBIN_PATH = f"{os.environ.get('PATH', '')}:/usr/local/sbin:/usr/sbin:/sbin"
HOST = "127.0.0.1"
START_TIMEOUT = 180.0  # seconds; a node is up in about 6 s on an idle machine
BROKER_USER = "rabbitmq"


def rabbitmq_executable(name: str) -> str:
    found = shutil.which(name, path=SBIN_PATH)
    if found is None:
        pytest.fail(f"{name} is needed for a throwaway RabbitMQ node: install rabbitmq-server")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int, within: float = 1.0) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((HOST, port), timeout=within):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class RabbitNode:
    """A prepared node: `server_env` makes `rabbitmq-server` run it; nothing runs yet."""

    name: str
    port: int
    folder: Path
    server_env: dict[str, str]

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.port}/"

    @property
    def pid_file(self) -> Path:
        return self.folder / "node.pid"

    def start(self) -> None:
        """Start the node in the background and wait until it accepts AMQP connections."""
        done = subprocess.run(
            [rabbitmq_executable("rabbitmq-server"), "-detached"],
            env={**os.environ, **self.server_env},
            cwd=self.folder,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            pytest.fail(f"rabbitmq-server -detached for {self.name}: {done.stderr.strip()}")
        self.wait_until_answering()

    def wait_until_answering(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not answers(self.port):
            if time.monotonic() > deadline:
                pytest.fail(f"the throwaway RabbitMQ node {self.name} did not answer in time")
            time.sleep(0.5)

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """`rabbitmqctl -n NODE args`; its output."""
        done = subprocess.run(
            [rabbitmq_executable("rabbitmqctl"), "-n", self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"rabbitmqctl -n {self.name} {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        """Stop this node (and only it), whether it is running, half-started or stopped."""
        if not self.pid_file.exists():
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [rabbitmq_executable("rabbitmqctl"), "-n", self.name, "stop", str(self.pid_file)],
                capture_output=True,
                timeout=120,
                check=False,
            )
        self._kill_leftover()

    def _kill_leftover(self) -> None:
        """SIGKILL the node's VM if `stop` left it running; checks that the pid is still it."""
        with contextlib.suppress(ValueError, OSError):
            pid = int(self.pid_file.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            if self.name.encode() in command:
                os.kill(pid, signal.SIGKILL)


def prepare_node(
    prefix: str, plugins: Sequence[str] = (), config: Sequence[str] = ()
) -> RabbitNode:
    """A node folder with its configuration, owned by the broker's user; not started.
    `plugins` are enabled at start; `config` lines are added to its rabbitmq.conf."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    (folder / "mnesia").mkdir()
    (folder / "log").mkdir()
    (folder / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n")
    port = free_port()
    lines = [f"listeners.tcp.default = {HOST}:{port}", *config]
    (folder / "rabbitmq.conf").write_text("".join(f"{line}\n" for line in lines))
    try:
        for path in [folder, *folder.rglob("*")]:
            shutil.chown(path, BROKER_USER, BROKER_USER)
    except (LookupError, PermissionError) as exc:
        shutil.rmtree(folder)
        pytest.fail(f"a throwaway RabbitMQ node needs root and the {BROKER_USER} user: {exc}")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_PID_FILE": str(folder / "node.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(folder / "feature_flags"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
    }
    return RabbitNode(name=name, port=port, folder=folder, server_env=env)


@contextlib.contextmanager
def throwaway_node(
    prefix: str, plugins: Sequence[str] = (), config: Sequence[str] = ()
) -> Iterator[RabbitNode]:
    """A prepared (stopped) node; afterwards it is stopped and its folder removed."""
    node = prepare_node(prefix, plugins, config)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.folder, ignore_errors=True)
