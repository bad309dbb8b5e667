"""Serve the API with Uvicorn's worker supervisor, draining on SIGTERM.

On SIGTERM the instance first turns unready (``/readyz`` answers 503 ``stopping``) and keeps
serving for the drain period, so a load balancer polling it takes it out of rotation before
its socket closes; then Uvicorn stops accepting, finishes the requests in flight (at most
``timeout_graceful_shutdown``) and the process exits. A worker that fails to start ends the
process with Uvicorn's STARTUP_FAILURE status (its supervisor would return as after a clean
stop, exit 0, which an orchestrator takes for a deliberate stop).
"""

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socket import socket

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

# Set by the supervisor for its workers: the file whose presence means "stopping".
DRAINING_FLAG_ENV = "LOGIN_INTERNAL_DRAINING_FLAG"

log = structlog.get_logger("login_service.serving")


def draining() -> bool:
    """Whether this instance's supervisor has begun to stop it (read by ``/readyz``)."""
    flag = os.environ.get(DRAINING_FLAG_ENV)
    return flag is not None and os.path.exists(flag)


class DrainingSupervisor(Multiprocess):
    """Uvicorn's supervisor, whose SIGTERM turns the workers unready for `drain_seconds`
    before it stops them."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket], flag: Path, drain_seconds: float
    ) -> None:
        super().__init__(config, sockets)
        self._flag = flag
        self._drain_seconds = drain_seconds

    def handle_term(self) -> None:
        if not self._flag.exists():
            self._flag.touch()
            log.info("draining", seconds=self._drain_seconds)
            time.sleep(self._drain_seconds)
        super().handle_term()


@contextmanager
def draining_flag() -> Iterator[Path]:
    """A flag path in a private folder, named to the workers through the environment."""
    with tempfile.TemporaryDirectory(prefix="login-serving-") as folder:
        flag = Path(folder) / "draining"
        os.environ[DRAINING_FLAG_ENV] = str(flag)
        try:
            yield flag
        finally:
            del os.environ[DRAINING_FLAG_ENV]


def serve(config: uvicorn.Config, drain_seconds: float) -> None:
    """Run the workers until SIGTERM or SIGINT; exit STARTUP_FAILURE if one failed to start."""
    with draining_flag() as flag:
        supervisor = DrainingSupervisor(config, [config.bind_socket()], flag, drain_seconds)
        supervisor.run()
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        raise SystemExit(STARTUP_FAILURE)
