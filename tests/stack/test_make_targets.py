"""The Makefile is the interface: `make help` lists every target, and the README's two
commands install what they need themselves (uv, locked dependencies, RabbitMQ) before they
use it."""

import re
import subprocess
from pathlib import Path

import pytest


def make(repo_root: Path, *args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_help_lists_every_target(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z0-9_-]+):", makefile, flags=re.MULTILINE))
    assert {"dev", "test", "test-e2e"} <= targets

    listed = {line.split()[0] for line in make(repo_root, "help").splitlines()}

    assert {re.sub(r"\x1b\[[0-9;]*m", "", name) for name in listed} == targets


@pytest.mark.parametrize("target", ["dev", "test", "lint"])
def test_each_entry_point_first_makes_sure_of_uv_and_the_locked_dependencies(
    repo_root: Path, target: str
) -> None:
    steps = make(repo_root, "--dry-run", target)

    uv = steps.index("scripts/ensure-uv.sh")
    sync = steps.index("uv sync --project $p --frozen")
    assert uv < sync
    if target != "lint":
        assert sync < steps.index("scripts/ensure-rabbitmq.sh")
