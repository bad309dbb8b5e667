"""Checks of the deployment files and the local run's start-up (the broker tests start a
throwaway RabbitMQ node of their own)."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
