"""A local RabbitMQ that is installed but stopped is started, by CI's script and by the
supervisor of `make dev`. These tests stop the local broker: run them where nothing else
uses it at the time (the suites run one after another)."""

import asyncio
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.console import Console
from devstack.infra import RABBITMQ_HOST, RABBITMQ_PORT, ensure_local_rabbitmq, port_answers

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("RABBITMQ_URL")), reason="RABBITMQ_URL names a broker of its own"
)


def _stop_local_broker() -> None:
    ctl = shutil.which("rabbitmqctl", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if ctl is None:
        pytest.fail("rabbitmqctl is needed to stop the local broker (install rabbitmq-server)")
    subprocess.run([ctl, "stop"], capture_output=True, timeout=120, check=True)
    for _ in range(30):
        if not asyncio.run(port_answers(RABBITMQ_HOST, RABBITMQ_PORT, within=1)):
            return
    pytest.fail("the local broker still answers after rabbitmqctl stop")


def test_the_ci_script_starts_a_stopped_local_broker(repo_root: Path) -> None:
    _stop_local_broker()

    result = subprocess.run(
        ["bash", "scripts/ensure-rabbitmq.sh"],
        cwd=repo_root,
        env={k: v for k, v in os.environ.items() if k != "RABBITMQ_URL"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "starting RabbitMQ" in result.stdout
    assert asyncio.run(port_answers(RABBITMQ_HOST, RABBITMQ_PORT))


def test_the_supervisor_starts_a_stopped_local_broker() -> None:
    _stop_local_broker()
    output = io.StringIO()

    started = asyncio.run(ensure_local_rabbitmq(Console(colour=False, stream=output), os.environ))

    assert started is True
    assert "RabbitMQ is up" in output.getvalue()
    assert asyncio.run(port_answers(RABBITMQ_HOST, RABBITMQ_PORT))
