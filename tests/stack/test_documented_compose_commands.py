"""Every `docker compose` command line the README and docs/operations.md give is valid for the
real Compose CLI, and describes a stack that `make test-compose` starts (the development
stack, or it with the production override; `--build` is done there by the image build step)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.stack.test_compose_file import PRODUCTION_ENV, SCALABLE, _docker_compose

DOCUMENTS = ("README.md", "docs/operations.md")
# The stacks tests/compose starts, by their files.
STARTED_BY_THE_TESTS = {
    ("docker-compose.yml",),
    ("docker-compose.yml", "deploy/compose.production.yml"),
}
COMMAND = re.compile(r"docker compose(?: [^`\n]*)?")


def documented_commands(repo_root: Path) -> list[tuple[str, str]]:
    """(document, command line) for each `docker compose` line, continuations joined."""
    found = []
    for name in DOCUMENTS:
        text = (repo_root / name).read_text().replace("\\\n", " ")
        found += [(name, " ".join(match.split())) for match in COMMAND.findall(text)]
    return found


def _parse(command: str) -> tuple[tuple[str, ...], list[str], list[str]]:
    """The files (-f), the scaled services (--scale NAME=N) and the rest of the arguments."""
    words = shlex.split(command)[2:]
    files: list[str] = []
    scaled: list[str] = []
    rest: list[str] = []
    while words:
        word = words.pop(0)
        if word in ("-f", "--file"):
            files.append(words.pop(0))
        elif word == "--scale":
            scaled.append(words.pop(0).split("=")[0])
        else:
            rest.append(word)
    return tuple(files or ["docker-compose.yml"]), scaled, rest


def test_the_documents_give_compose_commands(repo_root: Path) -> None:
    documents = {name for name, _ in documented_commands(repo_root)}
    assert documents == set(DOCUMENTS)


def test_every_documented_compose_command_is_valid_and_names_a_stack_the_tests_start(
    repo_root: Path,
) -> None:
    for document, command in documented_commands(repo_root):
        files, scaled, rest = _parse(command)
        assert files in STARTED_BY_THE_TESTS, f"{document}: {command}: no test starts {files}"
        services = _docker_compose(repo_root, *files, env=PRODUCTION_ENV)["services"]
        assert set(scaled) <= set(SCALABLE), f"{document}: {command}: scales {scaled}"
        named = [word for word in rest if word in services or word.endswith("-api")]
        assert set(named) <= set(services), f"{document}: {command}: unknown service"
