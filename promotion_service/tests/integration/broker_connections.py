"""Close a consumer's connection from the server side, as a network drop or an operator
would (``rabbitmqctl close_connection``; the broker itself keeps running)."""

import shutil
import subprocess

import pytest


def rabbitmqctl(*args: str) -> str:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to close a connection from the server side")
    done = subprocess.run(
        [executable, *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def connection_pids(name: str) -> list[str]:
    """Pids (as rabbitmqctl accepts them) of connections whose connection_name is `name`."""
    listed = rabbitmqctl("list_connections", "pid", "client_properties", "-q", "--no-table-headers")
    return [line.split("\t", 1)[0] for line in listed.splitlines() if f'"{name}"' in line]


def close_connection(name: str, reason: str) -> None:
    """Close the one open connection named `name`."""
    pids = connection_pids(name)
    assert len(pids) == 1, pids
    rabbitmqctl("close_connection", pids[0], reason)
