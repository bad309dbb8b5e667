"""One child process: own process group, output streamed with a prefix, stopped as a group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from devstack.console import Console

_LINE_LIMIT = 1 << 20
_KEPT_LINES = 1000  # unread kept lines beyond this: the oldest are dropped


class ManagedProcess:
    """A child started in its own session, so that stopping it reaches all its descendants.

    Its output goes to the console, line by line; with `log_file`, appended to that file
    instead (written by the child itself unless its standard output is read here). With
    `keep_lines`, the lines of its standard output also wait for `next_line`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        console: Console,
        log_file: Path | None = None,
        keep_lines: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        self._env = dict(env)
        self._cwd = cwd
        self._console = console
        self._lines: asyncio.Queue[str | None] | None = (
            asyncio.Queue(_KEPT_LINES) if keep_lines else None
        )
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def pid(self) -> int:
        """The process's id, which is also its process group's."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the process; its stdout and stderr go to the console (or the log file)."""
        self._console.register(self.name)
        sink = None if self.log_file is None else self.log_file.open("a", encoding="utf-8")
        read_here = sink is None or self._lines is not None
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if read_here else sink,
                stderr=asyncio.subprocess.STDOUT if sink is None else sink,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
                limit=_LINE_LIMIT,
            )
        except BaseException:
            if sink is not None:
                sink.close()
            raise
        self._pump = asyncio.create_task(self._pump_output(self._process, sink))

    async def wait(self) -> int:
        """Wait for the process to end and its output to be printed; return its exit code."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started")
        code = await self._process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        return code

    async def next_line(self, prefix: str = "") -> str | None:
        """The rest of the next kept line that starts with `prefix` (the lines before it are
        dropped); None once the output has ended."""
        if self._lines is None:
            raise RuntimeError(f"{self.name} keeps no lines")
        while (line := await self._lines.get()) is not None:
            if line.startswith(prefix):
                return line.removeprefix(prefix)
        self._lines.put_nowait(None)  # the end, for any later call too
        return None

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the log file ("" without one)."""
        try:
            text = self.log_file.read_text(errors="replace") if self.log_file else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self, *, grace: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it is still there after `grace` s."""
        self.stopping = True
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                self._console.alarm(f"{self.name} ignored SIGTERM for {grace:.0f} s: killing it")
                self._signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        # Workers left behind by a parent that exited first still belong to the group.
        self.kill()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._pump, 5)

    def kill(self) -> None:
        """SIGKILL the process group at once, without waiting (needs no event loop)."""
        if self._process is not None:
            self._signal_group(self._process.pid, signal.SIGKILL)

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    async def _pump_output(self, process: asyncio.subprocess.Process, sink: TextIO | None) -> None:
        stream = process.stdout
        try:
            while stream is not None:
                try:
                    raw = await stream.readline()
                except ValueError:  # a line longer than the limit: print what fits
                    raw = await stream.read(_LINE_LIMIT)
                if not raw:
                    return
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._keep(text)
                if sink is None:
                    self._console.line(self.name, text)
                else:
                    sink.write(text + "\n")
                    sink.flush()
        finally:
            if sink is not None:
                sink.close()
            self._keep(None)

    def _keep(self, line: str | None) -> None:
        if self._lines is not None:
            if self._lines.full():
                self._lines.get_nowait()
            self._lines.put_nowait(line)
