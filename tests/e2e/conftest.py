"""End-to-end fixtures: the running system, reached over HTTP only.

LOGIN_URL and PROMOTION_URL set: the tests use that stack (for instance the compose proxy,
http://localhost:8080 for both). Otherwise the session starts the local stack itself with
`python -m devstack` on free ports, and stops it (and removes its queues) afterwards.

Tests marked `fresh_campaign` need a first-login campaign nobody has claimed from yet: they
get `fresh_stack`, a local stack of their own (started for their module only), or the
external stack, and they run before every other test so that the other tests' first logins
do not come first on an external stack.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import LocalStack, StackUrls, external_stack, serve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fresh_campaign: needs a campaign no first login has reached yet (runs first)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("fresh_campaign") is None)


def _local_stack(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[StackUrls]:
    yield from serve(LocalStack(Path(tmp_path_factory.mktemp(name))))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    external = external_stack()
    if external is not None:
        yield external
        return
    yield from _local_stack(tmp_path_factory, "stack")


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """A stack whose campaign only this module's tests touch (when this session starts it)."""
    external = external_stack()
    if external is not None:
        yield external
        return
    yield from _local_stack(tmp_path_factory, "fresh-stack")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client
