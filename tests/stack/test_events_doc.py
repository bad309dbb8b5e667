"""docs/events.md explains the contract files as they are."""

import json
from pathlib import Path


def test_events_doc_names_every_part_of_the_topology(repo_root: Path) -> None:
    topology = json.loads((repo_root / "docs" / "events" / "topology.json").read_text())
    text = (repo_root / "docs" / "events.md").read_text(encoding="utf-8")
    quorum = topology["queue"]["arguments"]["quorum"]
    for name in (
        topology["exchange"]["name"],
        topology["routing_key"],
        topology["queue"]["name"],
        topology["dead_letter_exchange"]["name"],
        topology["dead_letter_queue"]["name"],
        f"x-delivery-limit: {quorum['x-delivery-limit']}",
    ):
        assert f"`{name}`" in text, name


def test_events_doc_describes_every_field_of_the_schema(repo_root: Path) -> None:
    schema = json.loads((repo_root / "docs" / "events" / "first-login.v1.schema.json").read_text())
    text = (repo_root / "docs" / "events.md").read_text(encoding="utf-8")
    for field in schema["properties"]:
        assert f"| `{field}` |" in text, field
