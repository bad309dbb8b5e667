"""`make test-compose`: the committed compose files, run for real.

The session makes sure a container engine answers (scripts/docker-engine.sh: here, the
project's own dockerd under .docker/), builds the images (scripts/build-images.sh), and at its
end stops the engine if it started it. Each scenario runs a stack of its own (`up` ... `down -v`).
The proxy's port (PROXY_PORT, 8080) must be free: a `make compose-up` stack holds it, and then
this suite refuses to start rather than share it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.compose.stack import PROXY_PORT, REPO_ROOT, engine_mode, port_in_use

# The end-to-end tests a compose stack does not run, and why: `make dev` runs them.
LEFT_TO_MAKE_DEV = {
    "tests/e2e/test_swagger_ui_browser.py": "the proxy does not serve the Swagger UI (/docs)",
    "tests/e2e/test_data_schema_doc.py": "it reads the databases directly, which the compose "
    "stack does not publish",
    "tests/e2e/test_login_throttling.py": "it sends from client networks of its own (loopback "
    "source addresses), which the proxy replaces by its own address",
    "tests/e2e/test_prometheus_scrape.py": "it scrapes a stack of its own with a Prometheus of its "
    "own; the compose Prometheus is checked by test_monitoring_profile.py",
}


def pytest_report_header() -> list[str]:
    lines = []
    if engine_mode() == "local":
        lines.append(
            "compose: service mongodb is substituted by the MongoDB stand-in "
            "(bank/mongo-standin:local, deploy/compose.standin.yml): no MongoDB image can be "
            "had without an image registry; every other service is the committed one"
        )
    lines += [
        f"compose: left to make dev: {test} ({why})" for test, why in LEFT_TO_MAKE_DEV.items()
    ]
    return lines


def _own_engine_running() -> bool:
    socket = REPO_ROOT / ".docker" / "docker.sock"
    if not socket.exists():
        return False
    result = subprocess.run(
        ["/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker", "version"],
        env={**os.environ, "DOCKER_HOST": f"unix://{socket}"},
        capture_output=True,
        check=False,
        timeout=20,
    )
    return result.returncode == 0


@pytest.fixture(scope="session", autouse=True)
def engine() -> Iterator[str]:
    """The engine's mode (`local` or `registry`), with the images built into it."""
    if port_in_use(PROXY_PORT):
        pytest.fail(
            f"127.0.0.1:{PROXY_PORT} is in use (a `make compose-up` stack, or another program): "
            "the compose tests need the proxy's port. Stop it (`make compose-down`) or run "
            "with PROXY_PORT set to a free port.",
            pytrace=False,
        )
    was_running = _own_engine_running()
    started = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "docker-engine.sh"), "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(
            "no container engine could be started, so the compose stack cannot run:\n"
            + started.stderr[-2000:],
            pytrace=False,
        )
    mode, host = started.stdout.split()[-2:]
    if host != "-":  # "-": the user's own DOCKER_HOST or context, as it is
        os.environ["DOCKER_HOST"] = host
    os.environ["COMPOSE_ENGINE"] = mode  # decided once for every compose call of the session
    built = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build-images.sh"), mode],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    try:
        if built.returncode != 0:
            pytest.fail(
                f"building the images failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}",
                pytrace=False,
            )
        yield mode
    finally:
        if mode == "local" and not was_running:
            subprocess.run(
                ["bash", str(REPO_ROOT / "scripts" / "docker-engine.sh"), "stop"], check=False
            )
