"""A local RabbitMQ that is installed but stopped is started, by CI's script and by the
supervisor of `make dev`. Both run here against a throwaway node of the test's own (stopped,
on free ports), through the same parameters that default to the machine's broker; the
machine's broker is never touched."""

import asyncio
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.config import load_config
from devstack.console import Console
from devstack.infra import ensure_local_rabbitmq
from tests.stack.rabbitmq_node import RabbitNode, answers, throwaway_node


@pytest.fixture
def stopped_node() -> Iterator[RabbitNode]:
    with throwaway_node("stack-test") as node:
        yield node


def node_env(node: RabbitNode) -> dict[str, str]:
    """The caller's environment pointed at the node: where it answers, what starts it."""
    env = {k: v for k, v in os.environ.items() if k != "RABBITMQ_URL"}
    env.update(node.server_env)
    env.update(LOCAL_RABBITMQ_HOST="127.0.0.1", LOCAL_RABBITMQ_PORT=str(node.port))
    return env


def test_the_ci_script_starts_a_stopped_local_broker(
    repo_root: Path, stopped_node: RabbitNode
) -> None:
    assert not answers(stopped_node.port)

    result = subprocess.run(
        ["bash", "scripts/ensure-rabbitmq.sh"],
        cwd=repo_root,
        env=node_env(stopped_node),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"starting RabbitMQ (node {stopped_node.name}" in result.stdout
    assert f"RabbitMQ is up on 127.0.0.1:{stopped_node.port}" in result.stdout
    assert answers(stopped_node.port)
    assert f"port: {stopped_node.port}, protocol: amqp" in stopped_node.ctl("status")


def test_the_ci_script_leaves_a_running_broker_alone(
    repo_root: Path, stopped_node: RabbitNode
) -> None:
    stopped_node.start()
    pid = stopped_node.pid_file.read_text().strip()

    result = subprocess.run(
        ["bash", "scripts/ensure-rabbitmq.sh"],
        cwd=repo_root,
        env=node_env(stopped_node),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"RabbitMQ answers on 127.0.0.1:{stopped_node.port}"
    assert stopped_node.pid_file.read_text().strip() == pid


def test_the_supervisor_starts_a_stopped_local_broker(
    repo_root: Path, stopped_node: RabbitNode
) -> None:
    env = node_env(stopped_node)
    config = load_config(env, repo_root)
    output = io.StringIO()
    assert not answers(stopped_node.port)

    started = asyncio.run(
        ensure_local_rabbitmq(
            Console(colour=False, stream=output),
            env,
            host=config.local_rabbitmq_host,
            port=config.local_rabbitmq_port,
        )
    )

    assert started is True
    assert f"starting node {stopped_node.name}" in output.getvalue()
    assert f"RabbitMQ is up on 127.0.0.1:{stopped_node.port}" in output.getvalue()
    assert config.broker_url == f"amqp://guest:guest@127.0.0.1:{stopped_node.port}/"
    assert answers(stopped_node.port)
