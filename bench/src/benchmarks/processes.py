"""The run's children: devstack's processes, each appending its output to ``<name>.log``."""

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from devstack.console import Console
from devstack.processes import ManagedProcess


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ProcessGroups:
    """Starts children in sessions of their own and stops whole groups (TERM, then KILL)."""

    log_dir: Path
    children: list[ManagedProcess] = field(default_factory=list)
    # Only a child that ignores SIGTERM is reported here; the output goes to the log files.
    console: Console = field(default_factory=lambda: Console(colour=False, stream=sys.stderr))

    def log_path(self, name: str) -> Path:
        """Where the children called ``name`` write stdout and stderr, each run appended."""
        return self.log_dir / f"{name}.log"

    async def start(
        self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path,
        capture_stdout: bool = False,
    ) -> ManagedProcess:  # fmt: skip
        """``capture_stdout``: its stdout lines are kept for ``next_line`` too."""
        return await self.add(ManagedProcess(name, argv, env=env, cwd=cwd, console=self.console,
                              log_file=self.log_path(name), keep_lines=capture_stdout))  # fmt: skip

    async def add(self, child: ManagedProcess) -> ManagedProcess:
        await child.start()
        self.children.append(child)
        return child

    async def stop(self, child: ManagedProcess) -> None:
        if child in self.children:
            self.children.remove(child)
        await child.stop()

    async def stop_named(self, *names: str) -> None:
        for child in [child for child in self.children if child.name in names]:
            await self.stop(child)

    async def stop_all(self) -> None:
        for child in reversed(self.children[:]):
            await self.stop(child)

    def kill_all_now(self) -> None:
        """Last resort, synchronous (used when the event loop is gone)."""
        for child in self.children:
            child.kill()
        self.children.clear()
