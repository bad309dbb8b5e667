"""The watch CI keeps on the machine's broker while the suites run (scripts/watch-broker.sh),
tried on a throwaway node: a broker not up yet is waited for; once it answered, its stop
ends the watch with a failure."""

import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.stack.rabbitmq_node import throwaway_node

LINE_TIMEOUT = 240.0


def next_line(process: subprocess.Popen[str], stream_name: str) -> str:
    stream = process.stdout if stream_name == "stdout" else process.stderr
    assert stream is not None
    deadline = time.monotonic() + LINE_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            return stream.readline()
    pytest.fail(f"the watch printed nothing on {stream_name} within {LINE_TIMEOUT:.0f} s")


def test_the_watch_waits_for_the_broker_then_fails_when_it_stops(repo_root: Path) -> None:
    with throwaway_node("watch-test") as node:
        watch = subprocess.Popen(
            ["bash", "scripts/watch-broker.sh", "127.0.0.1", str(node.port)],
            cwd=repo_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert next_line(watch, "stdout").startswith("watch: waiting for RabbitMQ")
            node.start()
            assert "answers" in next_line(watch, "stdout")
            assert watch.poll() is None

            node.ctl("stop", str(node.pid_file))

            assert watch.wait(timeout=LINE_TIMEOUT) == 1
            assert "stopped answering" in next_line(watch, "stderr")
        finally:
            if watch.poll() is None:
                watch.kill()
            watch.wait()
