"""One child process: own process group, output streamed with a prefix, stopped as a group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack.console import Console

_LINE_LIMIT = 1 << 20


class ManagedProcess:
    """A child started in its own session, so that stopping it reaches all its descendants."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        console: Console,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._console = console
        self._on_line = on_line
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the process; its stdout and stderr go to the console, line by line."""
        self._console.register(self.name)
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,
            limit=_LINE_LIMIT,
        )
        self._pump = asyncio.create_task(self._pump_output(self._process))

    async def wait(self) -> int:
        """Wait for the process to end and its output to be printed; return its exit code."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started")
        code = await self._process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        return code

    async def stop(self, *, grace: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it is still there after `grace` s."""
        self.stopping = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        self._signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            self._console.alarm(f"{self.name} ignored SIGTERM for {grace:.0f} s: killing it")
            self._signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        # Workers left behind by a parent that exited first still belong to the group.
        self._signal_group(process.pid, signal.SIGKILL)
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._pump, 5)

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    async def _pump_output(self, process: asyncio.subprocess.Process) -> None:
        stream = process.stdout
        if stream is None:
            return
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the limit: print what fits
                raw = await stream.read(_LINE_LIMIT)
            if not raw:
                return
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self._on_line is not None:
                self._on_line(text)
            self._console.line(self.name, text)
