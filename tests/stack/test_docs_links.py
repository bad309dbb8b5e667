"""Links between the README and docs/ lead somewhere: the file exists, and so does the heading."""

import re
from pathlib import Path

import pytest

_LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCUMENTS = [
    "README.md",
    "docs/architecture.md",
    "docs/data_schema.md",
    "docs/api.md",
    "docs/events.md",
    "docs/operations.md",
    "docs/decisions.md",
]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    """Anchors of the headings outside code blocks."""
    anchors, in_code = set(), False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"^#{1,6} ", line):
            anchors.add(_anchor(line.lstrip("#")))
    return anchors


def _resolves(document: Path, target: str) -> bool:
    path_part, _, fragment = target.partition("#")
    linked = (document.parent / path_part).resolve() if path_part else document
    if not linked.exists():
        return False
    return not fragment or linked.suffix != ".md" or fragment in _anchors(linked)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_relative_link_of_the_document_resolves(repo_root: Path, name: str) -> None:
    document = repo_root / name
    targets = _LINK.findall(document.read_text(encoding="utf-8"))
    local = [target for target in targets if not re.match(r"^[a-z]+:", target)]
    assert [target for target in local if not _resolves(document, target)] == []
