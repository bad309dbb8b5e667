"""docs/api.md and docs/openapi/*.json are what the services' code serves."""

import json
from pathlib import Path

from devstack.apidoc import generate


def test_generated_api_documents_match_the_services_code(repo_root: Path) -> None:
    stale = [
        str(path.relative_to(repo_root))
        for path, text in generate(repo_root).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"out of date, run `make apidoc`: {stale}"


def test_both_api_documents_carry_one_version_number(repo_root: Path) -> None:
    versions = {
        service: json.loads((repo_root / "docs" / "openapi" / f"{service}.json").read_text())[
            "info"
        ]["version"]
        for service in ("login", "promotion")
    }

    assert len(set(versions.values())) == 1, versions
