"""Child processes of a run: each in its own process group, all stopped at the end."""

import asyncio
import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.progress import say


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ProcessGroups:
    """Starts children in new sessions and stops whole groups (TERM, then KILL)."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def log_path(self, name: str) -> Path:
        """Where the children called ``name`` write stdout and stderr, each run appended."""
        return self.log_dir / f"{name}.log"

    async def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        capture_stdout: bool = False,
    ) -> Child:
        log_path = self.log_path(name)
        log_file = log_path.open("ab")
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if capture_stdout else log_file,
                stderr=log_file,
                start_new_session=True,
            )
        finally:
            log_file.close()
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    async def stop(self, child: Child, *, grace: float = 15.0) -> None:
        """SIGTERM to the child's process group, SIGKILL after ``grace`` seconds."""
        if child in self.children:
            self.children.remove(child)
        if child.alive:
            _signal_group(child.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), timeout=grace)
            except TimeoutError:
                say(f"  {child.name} did not stop in {grace:.0f} s: killing it")
        # Whatever is left of the group (uv's child, uvicorn workers) goes too.
        _signal_group(child.process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.process.wait(), timeout=5)

    async def stop_named(self, *names: str) -> None:
        for child in [child for child in self.children if child.name in names]:
            await self.stop(child)

    async def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            await self.stop(child)

    def kill_all_now(self) -> None:
        """Last resort, synchronous (used when the event loop is gone)."""
        for child in self.children:
            _signal_group(child.process.pid, signal.SIGKILL)
        self.children.clear()


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def read_prefixed_line(child: Child, prefix: str, timeout: float) -> str:
    """The value of the first stdout line starting with ``prefix`` (e.g. ``MONGODB_URI=``)."""
    stream = child.process.stdout
    assert stream is not None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"{child.name} printed no {prefix} line in {timeout:.0f} s")
        try:
            line = await asyncio.wait_for(stream.readline(), timeout=remaining)
        except TimeoutError:
            continue
        if not line:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        text = line.decode().strip()
        if text.startswith(prefix):
            return text.removeprefix(prefix)


async def wait_until_ready(child: Child, url: str, timeout: float = 180.0) -> None:
    """Poll ``url`` until it answers 200; fail with the child's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not child.alive:
                raise RuntimeError(f"{child.name} exited:\n{child.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError(
        f"{child.name} not ready at {url} after {timeout:.0f} s:\n{child.log_tail()}"
    )
