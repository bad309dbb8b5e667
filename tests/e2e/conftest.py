"""End-to-end fixtures: the running system, reached over HTTP only.

LOGIN_URL and PROMOTION_URL set: the tests use that stack (for instance the compose proxy,
http://localhost:8080 for both). Otherwise the session starts the local stack itself with
`python -m devstack` on free ports, and stops it (and removes its queues) afterwards.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import LocalStack, StackUrls, external_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    external = external_stack()
    if external is not None:
        yield external
        return
    local = LocalStack(Path(tmp_path_factory.mktemp("stack")))
    local.start()
    try:
        try:
            local.wait_ready()
        except RuntimeError as failure:
            pytest.fail(str(failure), pytrace=False)
        yield local.urls
    finally:
        local.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client
