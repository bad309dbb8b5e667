"""`.ci/run` fails the run when the machine's broker stops answering during the suites, and
passes when it answered throughout. The broker here is a throwaway node (named through
LOCAL_RABBITMQ_PORT), and `make` a recording stand-in for the suites, one of which stops
that node: what is under test is `.ci/run`'s watch, not the suites."""

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.rabbitmq_node import RabbitNode, rabbitmq_executable, throwaway_node


@pytest.fixture
def running_node() -> Iterator[RabbitNode]:
    with throwaway_node("ci-test") as node:
        node.start()
        yield node


def run_ci(repo_root: Path, tmp_path: Path, node: RabbitNode, on_test: str) -> str:
    """`.ci/run` with a `make` that logs its targets and runs `on_test` for `make test`."""
    tools = tmp_path / "bin"
    tools.mkdir()
    fake_make = tools / "make"
    fake_make.write_text(
        "#!/bin/bash\n"
        f'echo "make $*" >> {tmp_path / "make.log"}\n'
        f'if [ "$1" = test ]; then {on_test}; fi\n'
        "sleep 2\n"  # the suites take a while; the watch probes every 0.5 s meanwhile
    )
    fake_make.chmod(fake_make.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k != "RABBITMQ_URL"}
    env.update(PATH=f"{tools}:{env['PATH']}", LOCAL_RABBITMQ_PORT=str(node.port))
    done = subprocess.run(
        ["bash", ".ci/run"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (tmp_path / "make.log").read_text() == "make lint\nmake test\n"
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def test_ci_passes_when_the_broker_answered_throughout(
    repo_root: Path, tmp_path: Path, running_node: RabbitNode
) -> None:
    output = run_ci(repo_root, tmp_path, running_node, on_test="true")

    assert output.startswith("exit 0\n"), output
    assert "the machine's RabbitMQ answered throughout the run" in output


def test_ci_fails_when_the_broker_stops_answering_during_the_tests(
    repo_root: Path, tmp_path: Path, running_node: RabbitNode
) -> None:
    ctl = rabbitmq_executable("rabbitmqctl")
    stop = f"{ctl} -n {running_node.name} stop {running_node.pid_file}"

    output = run_ci(repo_root, tmp_path, running_node, on_test=stop)

    assert output.startswith("exit 1\n"), output
    assert f"RabbitMQ on 127.0.0.1:{running_node.port} stopped answering" in output
    assert "FAILED: the machine's RabbitMQ stopped answering during the run" in output
