"""``python -m login_service``: serve the API with Uvicorn (LOGIN_WORKERS processes)."""

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from login_service.config import FIXED_NAMES, Settings, get_settings
from login_service.logs import configure_logging
from login_service.metrics import MULTIPROCESS_DIR_ENV
from login_service.serving import serve
from login_service.tracing import tracing_config


@contextmanager
def shared_metrics_directory(workers: int) -> Iterator[Path | None]:
    """Prepare prometheus-client's multiprocess mode for the workers about to start.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is created if missing and emptied of the
    previous run's value files (a stale file would be added to the new run's counters).
    Without one, several workers share a private temporary directory, removed on exit; a
    single worker keeps its metrics in memory. Set before the workers start, so each one
    imports prometheus-client in multiprocess mode.
    """
    if configured := os.environ.get(MULTIPROCESS_DIR_ENV):
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
    elif workers > 1:
        with tempfile.TemporaryDirectory(prefix="login-metrics-") as private:
            os.environ[MULTIPROCESS_DIR_ENV] = private
            try:
                yield Path(private)
            finally:
                del os.environ[MULTIPROCESS_DIR_ENV]
    else:
        yield None


def refusal(error: ValidationError) -> str:
    """One line naming each refused setting and why, never its value (it may be a secret)."""
    reasons = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        name = where.upper()
        if name and not name.startswith("LOGIN_") and name not in FIXED_NAMES:
            name = f"LOGIN_{name}"
        reasons.append(f"{name}: {message}" if name else message)
    return "; ".join(reasons)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with a clear message (one JSON line on stderr) when refused."""
    try:
        tracing_config(os.environ)  # the OTEL_* variables' refusal, before any worker starts
        return get_settings()
    except (ValidationError, SettingsError, ValueError) as error:
        reason = refusal(error) if isinstance(error, ValidationError) else str(error)
        line = {"event": "refusing_to_start", "reason": reason, "level": "error"}
        print(json.dumps(line | {"logger": "login_service"}), file=sys.stderr, flush=True)
        sys.exit(2)


def main() -> None:
    settings = settings_or_exit()
    # Uvicorn keeps its hands off logging: every process logs through structlog.
    configure_logging(settings)
    with shared_metrics_directory(settings.workers):
        serve(
            uvicorn.Config(
                "login_service.main:create_app",
                factory=True,
                host=settings.bind_host,
                port=settings.port,
                workers=settings.workers,
                access_log=False,
                log_config=None,
                proxy_headers=False,
                server_header=False,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            ),
            drain_seconds=settings.drain_seconds,
        )


if __name__ == "__main__":
    main()
