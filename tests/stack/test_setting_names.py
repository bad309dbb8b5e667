"""Every LOGIN_*/PROMOTION_* name the repository sets is a setting the services read.

A setting renamed or removed in a service's config.py must not linger where a stack sets it
(it would be ignored silently, as a throttle budget meant to be raised would be).
"""

import re
from pathlib import Path

import pytest

from devstack.servicemeta import settings_env_names
from tests.stack.test_compose_file import load_compose

PREFIXED = r"(?:LOGIN|PROMOTION)_[A-Z0-9_]*[A-Z0-9]"
# Not service settings: where an already running stack answers (read by the end-to-end tests).
EXTERNAL_STACK = {"LOGIN_URL", "PROMOTION_URL"}
COMPOSE_FILES = ("docker-compose.yml", "deploy/compose.production.yml")
APPLICATION = ("login-api", "promotion-api", "promotion-consumer")
SOURCE_GLOBS = (
    "devstack/*.py",
    "tests/**/*.py",
    "login_service/tests/**/*.py",
    "promotion_service/tests/**/*.py",
    "bench/src/**/*.py",
    "Makefile",
    "scripts/*",
)


@pytest.fixture(scope="module")
def settings_names(repo_root: Path) -> set[str]:
    return set(settings_env_names(repo_root, "login")) | set(
        settings_env_names(repo_root, "promotion")
    )


def _script_inputs(repo_root: Path) -> set[str]:
    """Variables of the broker-users script (its inputs, not the services' settings)."""
    script = (repo_root / "deploy" / "rabbitmq" / "service-users.sh").read_text()
    return set(re.findall(rf"\$\{{({PREFIXED})", script))


def _secret_files(repo_root: Path) -> set[str]:
    """`NAME_FILE` of each name a service's SECRET_SETTINGS reads from a file too."""
    names: set[str] = set()
    for service in ("login_service", "promotion_service"):
        config = (repo_root / service / "src" / service / "config.py").read_text()
        table = re.search(r"^SECRET_SETTINGS = \{(.*?)^\}", config, re.M | re.S)
        assert table is not None, f"{service}: no SECRET_SETTINGS table"
        names |= {f"{name}_FILE" for name in re.findall(r'"([A-Z][A-Z0-9_]+)"', table.group(1))}
    return names


def _set_in_compose(repo_root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in COMPOSE_FILES:
        services = load_compose(repo_root / name)["services"]
        for service in APPLICATION:
            for key in (services.get(service) or {}).get("environment") or {}:
                if re.fullmatch(PREFIXED, key):
                    found[key] = f"{name} ({service})"
    return found


def _set_in_sources(repo_root: Path) -> dict[str, str]:
    """Names written as a string ("NAME") or a keyword (NAME=...) in code and test stacks."""
    found: dict[str, str] = {}
    pattern = re.compile(rf"[\"']({PREFIXED})[\"']|\b({PREFIXED})=")
    for glob in SOURCE_GLOBS:
        for path in repo_root.glob(glob):
            if ".venv" in path.parts or not path.is_file():
                continue
            for quoted, keyword in pattern.findall(path.read_text()):
                found[quoted or keyword] = str(path.relative_to(repo_root))
    return found


def _set_in_env_example(repo_root: Path) -> dict[str, str]:
    text = (repo_root / ".env.example").read_text()
    return {name: ".env.example" for name in re.findall(rf"^#? ?({PREFIXED})=", text, re.M)}


def test_every_prefixed_name_set_in_the_repository_is_a_setting(
    repo_root: Path, settings_names: set[str]
) -> None:
    allowed = settings_names | EXTERNAL_STACK | _script_inputs(repo_root) | _secret_files(repo_root)
    found = {
        **_set_in_sources(repo_root),
        **_set_in_env_example(repo_root),
        **_set_in_compose(repo_root),
    }
    unknown = {name: where for name, where in found.items() if name not in allowed}
    assert unknown == {}, f"not a setting of either service (renamed or removed?): {unknown}"


def test_the_check_sees_the_names_the_stacks_set(repo_root: Path) -> None:
    """The scan finds what it must (else the test above would pass on nothing)."""
    assert "LOGIN_THROTTLE_IDENTIFIER_MAX_FAILURES" in _set_in_sources(repo_root)
    assert "PROMOTION_TRUSTED_PUBLISHER" in _set_in_compose(repo_root)
    assert "LOGIN_THROTTLE_DEVICE_MAX_FAILURES" in _set_in_env_example(repo_root)
    assert {"LOGIN_BROKER_USER", "PROMOTION_BROKER_PASSWORD"} <= _script_inputs(repo_root)
    assert {"LOGIN_DEVICE_TOKEN_KEY_FILE", "MONGODB_URI_FILE"} <= _secret_files(repo_root)
