"""The two servers the services need (a MongoDB-wire stand-in and a local RabbitMQ), and
waiting for a started process to be ready."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

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
    return await read_prefixed_line(
        process, "MONGODB_URI=", STANDIN_READY_TIMEOUT, who="the MongoDB stand-in"
    )


async def read_prefixed_line(
    process: ManagedProcess, prefix: str, within: float, *, who: str = ""
) -> str:
    """The rest of the next kept line starting with `prefix` (`KEY=`), stripped; a StackError
    naming the process (as `who`) if it exits first or prints none within `within` s."""
    who = who or process.name
    try:
        async with asyncio.timeout(within):
            value = await process.next_line(prefix)
    except TimeoutError:
        raise StackError(f"{who} printed no {prefix.rstrip('=')} within {within:.0f} s") from None
    if value is None:
        seen = f":\n{process.log_tail()}" if process.log_file else " (see its lines above)"
        raise StackError(f"{who} exited before it was ready{seen}")
    return value.strip()


async def wait_until_ready(process: ManagedProcess, url: str, within: float = 180.0) -> None:
    """Poll `url` until it answers 200; a StackError with the log's tail if `process` exits
    first or `within` s pass."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not process.running:
                raise StackError(f"{process.name} exited:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    tail = process.log_tail()
    raise StackError(f"{process.name} not ready at {url} after {within:.0f} s:\n{tail}")


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
