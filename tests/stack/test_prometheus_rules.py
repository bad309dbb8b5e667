"""The alert rules are usable as shipped: each one has a severity, says what it means, links
a runbook section that exists, and has a promtool unit test in which it fires (`make
test-rules` runs those tests)."""

from pathlib import Path
from typing import Any

import yaml

from tests.stack.test_docs_links import _anchors

SEVERITIES = {"critical", "warning", "info"}


def _rule_files(repo_root: Path) -> list[Path]:
    return sorted((repo_root / "deploy/prometheus/rules").glob("*.yml"))


def _alerts(repo_root: Path) -> list[dict[str, Any]]:
    return [
        rule
        for path in _rule_files(repo_root)
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _unit_tests(repo_root: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, yaml.safe_load(path.read_text()))
        for path in sorted((repo_root / "deploy/prometheus/tests").glob("*.test.yml"))
    ]


def test_every_alert_has_a_severity_a_meaning_and_a_runbook_that_exists(repo_root: Path) -> None:
    alerts = _alerts(repo_root)
    runbooks = _anchors(repo_root / "docs/operations.md")
    assert len(alerts) >= 10

    for alert in alerts:
        name, annotations = alert["alert"], alert["annotations"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        assert annotations["summary"], name
        assert annotations["description"], name
        page, _, section = annotations["runbook_url"].partition("#")
        assert page == "docs/operations.md", name
        assert section in runbooks, f"{name}: no section #{section} in docs/operations.md"


def test_every_alert_fires_in_a_promtool_unit_test_of_its_own_rule_file(repo_root: Path) -> None:
    tested: dict[str, set[str]] = {}  # alert -> rule files its firing test loads
    for path, suite in _unit_tests(repo_root):
        files = {(path.parent / name).resolve().name for name in suite["rule_files"]}
        assert all((path.parent / name).exists() for name in suite["rule_files"]), path
        for case in suite["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    tested.setdefault(check["alertname"], set()).update(files)

    for path in _rule_files(repo_root):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert path.name in tested.get(rule["alert"], set()), (
                        f"{rule['alert']} ({path.name}) never fires in a promtool test"
                    )


def test_make_test_runs_the_rule_tests(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]

    assert "test-rules" in test_recipe
    assert "promtool test rules deploy/prometheus/tests/*.test.yml" in makefile
