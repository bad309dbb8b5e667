"""The two servers the services need: a MongoDB-wire stand-in and a local RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path

from devstack.console import Console
from devstack.processes import ManagedProcess

STANDIN_READY_TIMEOUT = 60.0
RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
RABBITMQ_START_TIMEOUT = 120  # seconds for a started broker to accept connections
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


class StackError(RuntimeError):
    """A server the stack needs is missing or did not start; the message says what to do."""


def standin_process(
    repo_root: Path,
    database: Path,
    env: Mapping[str, str],
    console: Console,
    *,
    name: str = "mongodb",
    log_file: Path | None = None,
) -> ManagedProcess:
    """The stand-in on a free port, keeping its data in the SQLite file `database`."""
    launcher = repo_root / "tools" / "mongo-standin"
    if not launcher.is_dir():
        raise StackError(f"MONGODB_URI is unset and the stand-in launcher {launcher} is missing")
    database.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "uv", "run", "--frozen", "--project", str(launcher),
        "python", "-m", "mongo_standin", "--port", "0", "--path", str(database),
    ]  # fmt: skip
    return ManagedProcess(
        name, argv, env=env, cwd=repo_root, console=console, log_file=log_file, keep_lines=True
    )


async def await_standin_uri(process: ManagedProcess) -> str:
    """The stand-in's MONGODB_URI, or a StackError if it exits or stays silent for 60 s."""
    try:
        async with asyncio.timeout(STANDIN_READY_TIMEOUT):
            uri = await process.next_line("MONGODB_URI=")
    except TimeoutError:
        raise StackError(
            f"the MongoDB stand-in printed no MONGODB_URI within {STANDIN_READY_TIMEOUT:.0f} s"
        ) from None
    if uri is None:
        seen = f":\n{process.log_tail()}" if process.log_file else " (see its lines above)"
        raise StackError(f"the MongoDB stand-in exited before it was ready{seen}")
    return uri.strip()


async def port_answers(host: str, port: int, within: float = 2.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def ensure_local_rabbitmq(
    console: Console,
    env: Mapping[str, str],
    *,
    host: str = RABBITMQ_HOST,
    port: int = RABBITMQ_PORT,
) -> bool:
    """Make sure RabbitMQ answers on host:port; return True when this call started it.

    `rabbitmq-server` runs with `env`, so its own variables (RABBITMQ_NODENAME,
    RABBITMQ_CONFIG_FILE, ...) choose the node; unset, the machine's broker.
    """
    where = f"{host}:{port}"
    if await port_answers(host, port):
        return False
    path = f"{env.get('PATH', '')}:{_SBIN}"
    server = shutil.which("rabbitmq-server", path=path)
    if server is None:
        raise StackError(
            f"RabbitMQ does not answer on {where} and is not installed. Install it "
            "(Debian/Ubuntu: sudo apt-get install rabbitmq-server; macOS: brew install rabbitmq) "
            "or set RABBITMQ_URL to a running broker."
        )
    node = env.get("RABBITMQ_NODENAME", "of this machine")
    console.info(
        f"RabbitMQ does not answer on {where}: starting node {node} (rabbitmq-server -detached)"
    )
    await _run_checked([server, "-detached"], env, within=60)
    # -detached returns at once, before the node has even registered, so `rabbitmqctl
    # await_startup` would fail straight away: wait for the AMQP listener instead.
    for _ in range(RABBITMQ_START_TIMEOUT):
        if await port_answers(host, port):
            console.info(f"RabbitMQ is up on {where}")
            return True
        await asyncio.sleep(1)
    raise StackError(
        f"RabbitMQ was started but accepts no connections on {where} within "
        f"{RABBITMQ_START_TIMEOUT} s"
    )


async def _run_checked(argv: list[str], env: Mapping[str, str], *, within: float) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=dict(env)
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise StackError(f"`{' '.join(argv)}` did not finish within {within:.0f} s") from None
    if process.returncode != 0:
        text = output.decode("utf-8", "replace").strip()
        raise StackError(f"`{' '.join(argv)}` failed (exit {process.returncode}): {text}")
