from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mongo_standin", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("MONGODB_URI="):
        process.kill()
        pytest.fail(f"the wire server did not start; it printed {line!r}")
    return process, line.removeprefix("MONGODB_URI=")


@pytest.fixture(scope="session")
def standin_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("standin") / "data.sqlite3"
    process, uri = _start(["--path", str(path)])
    yield uri
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
async def client(standin_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(standin_uri)
    yield mongo
    await mongo.close()


@pytest.fixture
def start_server() -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(path: Path, *extra: str) -> str:
        process, uri = _start(["--path", str(path), *extra])
        started.append(process)
        return uri

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
