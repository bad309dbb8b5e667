"""The database server of a test that starts its own processes: the repository's MongoDB
stand-in in a folder of the test's, or the server MONGODB_URI names when it is set."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def mongodb_server(folder: Path) -> Iterator[str]:
    """Yield the server's MONGODB_URI; a stand-in started here is stopped at the end."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    launcher = REPO_ROOT / "tools" / "mongo-standin"
    process = subprocess.Popen(
        ["uv", "run", "--frozen", "--project", str(launcher), "python", "-m", "mongo_standin",
         "--port", "0", "--path", str(folder / "data.sqlite3")],
        stdout=subprocess.PIPE, text=True, cwd=launcher,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("MONGODB_URI="):
        process.kill()
        pytest.fail(f"the MongoDB stand-in did not start (it printed {line!r})")
    try:
        yield line.removeprefix("MONGODB_URI=")
    finally:
        process.terminate()
        process.wait(timeout=10)
