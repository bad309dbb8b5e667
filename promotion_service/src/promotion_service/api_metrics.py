"""Metrics of the API across its Uvicorn workers.

With several workers, ``python -m promotion_service`` puts prometheus-client in its
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``): each worker writes its values to files in
that directory and ``/metrics``, whichever worker answers, reports the sum over all workers.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of `registry`, or of every worker's files in multiprocess mode."""
    directory = os.environ.get(MULTIPROCESS_DIR_ENV)
    if not directory:
        return generate_latest(registry)
    every_worker = CollectorRegistry()
    MultiProcessCollector(every_worker, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(every_worker)


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
        with tempfile.TemporaryDirectory(prefix="promotion-metrics-") as private:
            os.environ[MULTIPROCESS_DIR_ENV] = private
            try:
                yield Path(private)
            finally:
                del os.environ[MULTIPROCESS_DIR_ENV]
    else:
        yield None
