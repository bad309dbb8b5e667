""".env.example documents every setting both services and the supervisor read."""

import re
from pathlib import Path

import pytest

from devstack.servicemeta import settings_env_names

DEV_SETTINGS = ("DEV_CONSUMERS", "DEV_DATA_DIR", "DEV_READY_TIMEOUT", "DEV_COLOR", "DEV_ENV_FILE")


def _documented(repo_root: Path) -> dict[str, str]:
    """Name -> value of every `# NAME=value` (or `NAME=value`) line of .env.example."""
    text = (repo_root / ".env.example").read_text()
    return dict(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))


@pytest.mark.parametrize("service", ["login", "promotion"])
def test_env_example_lists_every_setting_of_the_service_with_its_default(
    repo_root: Path, service: str
) -> None:
    defaults = settings_env_names(repo_root, service)
    documented = _documented(repo_root)
    missing = sorted(set(defaults) - set(documented))
    assert missing == [], f"add to .env.example: {missing}"
    wrong = {name: value for name, value in defaults.items() if documented[name] != value}
    assert wrong == {}, f"defaults in .env.example differ from the code (code's): {wrong}"


def test_env_example_lists_every_setting_of_the_supervisor(repo_root: Path) -> None:
    source = "\n".join(p.read_text() for p in (repo_root / "devstack").glob("*.py"))
    read = set(re.findall(r"\"(DEV_[A-Z_]+)\"", source))
    assert read == set(DEV_SETTINGS)
    assert set(DEV_SETTINGS) <= set(_documented(repo_root))


def test_env_example_states_the_fixed_defaults(repo_root: Path) -> None:
    text = (repo_root / ".env.example").read_text()
    for line in (
        "# MONGODB_URI=mongodb://127.0.0.1:27017/?directConnection=true",
        "# RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/",
        "# LOGIN_PORT=8000",
        "# PROMOTION_PORT=8001",
        "# LOCAL_RABBITMQ_HOST=127.0.0.1",
        "# LOCAL_RABBITMQ_PORT=5672",
    ):
        assert line in text


def test_env_example_documents_every_otel_variable_the_services_read(repo_root: Path) -> None:
    """OpenTelemetry's standard variables are no setting of a service (no prefix, no settings
    class), but each one the code or the compose file names is documented all the same."""
    sources = [
        *(repo_root / "login_service" / "src").rglob("*.py"),
        *(repo_root / "promotion_service" / "src").rglob("*.py"),
        repo_root / "docker-compose.yml",
    ]
    read = {
        name
        for path in sources
        for name in re.findall(r"\b(OTEL_[A-Z_]*[A-Z])\b", path.read_text())
    }
    assert {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME"} <= read
    missing = sorted(read - set(_documented(repo_root)))
    assert missing == [], f"add to .env.example: {missing}"
