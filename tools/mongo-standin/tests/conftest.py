from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import bson
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


def _op_msg(document: dict[str, Any], request_id: int = 1, response_to: int = 1) -> bytes:
    """One OP_MSG (op code 2013) carrying ``document`` as its body section."""
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), request_id, response_to, 2013) + body


@pytest.fixture
def op_msg() -> Callable[..., bytes]:
    """Builds a server reply as it travels on the wire, for the launcher's reply checks."""
    return _op_msg
