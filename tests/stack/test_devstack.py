"""The local supervisor's own logic: settings, process groups, prefixed output."""

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from devstack.broker_users import (
    LOGIN_USER,
    PROMOTION_USER,
    announced_brokers,
    service_broker_env,
    stack_users,
)
from devstack.config import (
    ConfigError,
    check_ports,
    consumer_metrics_ports,
    load_config,
    redact_credentials,
    service_env,
    with_env_file,
)
from devstack.console import Console
from devstack.infra import StackError, read_prefixed_line, wait_until_ready
from devstack.processes import ManagedProcess
from devstack.supervisor import Stack, _local_broker_users


def test_unset_servers_mean_local_ones_and_ports_default_to_the_spec(repo_root: Path) -> None:
    config = load_config({}, repo_root)
    assert config.mongodb_uri is None
    assert config.rabbitmq_url is None
    assert (config.login_port, config.promotion_port, config.consumers) == (8000, 8001, 2)
    assert config.data_dir == repo_root / ".data"


def test_the_four_fixed_names_are_passed_to_services_exactly(repo_root: Path) -> None:
    given = {
        "MONGODB_URI": "mongodb://db.example:27017/?replicaSet=rs0",
        "RABBITMQ_URL": "amqp://bank:secret@mq.example:5672/bank",
        "LOGIN_PORT": "9000",
        "PROMOTION_PORT": "9001",
    }
    config = load_config(given, repo_root)
    env = service_env(config, given, given["MONGODB_URI"])
    assert {name: env[name] for name in given} == given
    assert env["PROMOTION_JWKS_URL"] == "http://127.0.0.1:9000/.well-known/jwks.json"


def test_without_rabbitmq_url_services_use_the_local_broker_where_it_answers(
    repo_root: Path,
) -> None:
    default = load_config({}, repo_root)
    assert service_env(default, {}, "mongodb://x")["RABBITMQ_URL"] == (
        "amqp://guest:guest@127.0.0.1:5672/"
    )
    given = {"LOCAL_RABBITMQ_HOST": "127.0.0.2", "LOCAL_RABBITMQ_PORT": "5673"}
    moved = load_config(given, repo_root)
    assert (moved.local_rabbitmq_host, moved.local_rabbitmq_port) == ("127.0.0.2", 5673)
    assert service_env(moved, given, "mongodb://x")["RABBITMQ_URL"] == (
        "amqp://guest:guest@127.0.0.2:5673/"
    )
    with pytest.raises(ConfigError, match="LOCAL_RABBITMQ_PORT"):
        load_config({"LOCAL_RABBITMQ_PORT": "amqp"}, repo_root)


def test_a_bad_dev_setting_is_refused_with_its_name(repo_root: Path) -> None:
    with pytest.raises(ConfigError, match="DEV_CONSUMERS"):
        load_config({"DEV_CONSUMERS": "many"}, repo_root)


def test_env_file_fills_only_variables_not_already_set(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# comment\nLOGIN_PORT=9100\nexport DEV_CONSUMERS='3'\n")
    merged = with_env_file({"LOGIN_PORT": "8100"}, tmp_path)
    assert merged["LOGIN_PORT"] == "8100"
    assert merged["DEV_CONSUMERS"] == "3"
    assert with_env_file({"DEV_ENV_FILE": ""}, tmp_path) == {"DEV_ENV_FILE": ""}


def test_each_local_consumer_gets_its_own_metrics_port() -> None:
    assert consumer_metrics_ports({}, 3) == [9101, 9102, 9103]
    assert consumer_metrics_ports({"PROMOTION_CONSUMER_METRICS_PORT": "0"}, 2) == [0, 0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_port_the_stack_would_bind_twice_is_refused_naming_both_settings(
    repo_root: Path,
) -> None:
    login, metrics = _free_port(), _free_port()
    env = {"LOGIN_PORT": str(login), "PROMOTION_PORT": str(metrics + 1)}
    env["PROMOTION_CONSUMER_METRICS_PORT"] = str(metrics)
    config = load_config(env, repo_root)  # two consumers: metrics + 0 and metrics + 1
    with pytest.raises(ConfigError, match=r"PROMOTION_CONSUMER_METRICS_PORT.*PROMOTION_PORT"):
        check_ports(config, env)


def test_a_port_in_use_is_refused_naming_the_setting_to_change(repo_root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"LOGIN_PORT": str(port), "PROMOTION_PORT": str(_free_port())}
        env["PROMOTION_CONSUMER_METRICS_PORT"] = "0"
        with pytest.raises(ConfigError, match=f"port {port} \\(LOGIN_PORT\\) is in use"):
            check_ports(load_config(env, repo_root), env)


def test_make_dev_with_the_promotion_api_on_the_consumers_metrics_port_stops_clearly(
    repo_root: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=repo_root,
        env={**os.environ, "PROMOTION_PORT": "9101", "DEV_ENV_FILE": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "PROMOTION_PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_stopping_a_process_ends_its_children_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    async def scenario() -> int:
        console = Console(colour=False, stream=io.StringIO())
        script = f"sleep 300 & echo $! > {pid_file}; wait"
        process = ManagedProcess("sh", ["bash", "-c", script], env=os.environ, cwd=tmp_path,
                                 console=console)  # fmt: skip
        await process.start()
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        await process.stop(grace=5)
        return int(pid_file.read_text())

    child = asyncio.run(scenario())
    # SIGKILL went to the whole group as the stop returned; the child is gone as soon as the
    # kernel has run its exit (a moment on a busy machine), never later than that.
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _running(child)


def test_stopping_a_process_that_exited_ends_what_it_left_behind(tmp_path: Path) -> None:
    script = "sleep 300 > /dev/null 2>&1 & echo $!"

    async def scenario() -> int:
        console = Console(colour=False, stream=io.StringIO())
        process = ManagedProcess("sh", ["bash", "-c", script], env=os.environ, cwd=tmp_path,
                                 console=console, keep_lines=True)  # fmt: skip
        await process.start()
        left = int(await process.next_line() or 0)
        await process.wait()
        assert _running(left)
        await process.stop(grace=5)
        return left

    left = asyncio.run(scenario())
    deadline = time.monotonic() + 5
    while _running(left) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _running(left)


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting for its new parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in {"Z", "X"}


def test_process_output_is_printed_line_by_line_behind_its_name(tmp_path: Path) -> None:
    out = io.StringIO()

    async def scenario() -> int:
        console = Console(colour=False, stream=out)
        console.register("consumer-1")
        process = ManagedProcess("login", ["bash", "-c", "echo one; echo two >&2; exit 3"],
                                 env=os.environ, cwd=tmp_path, console=console)  # fmt: skip
        await process.start()
        return await process.wait()

    assert asyncio.run(scenario()) == 3
    assert out.getvalue().splitlines() == ["login      | one", "login      | two"]


def test_with_a_log_file_the_output_is_appended_there_and_kept_lines_can_be_awaited(
    tmp_path: Path,
) -> None:
    out, log = io.StringIO(), tmp_path / "worker.log"
    log.write_text("earlier run\n")
    script = "echo noise; echo READY=1; echo oops >&2; sleep 0.1; echo DONE=2"

    async def scenario() -> tuple[str | None, str | None, str | None, int]:
        console = Console(colour=False, stream=out)
        process = ManagedProcess("worker", ["bash", "-c", script], env=os.environ,
                                 cwd=tmp_path, console=console, log_file=log,
                                 keep_lines=True)  # fmt: skip
        await process.start()
        ready = await process.next_line("READY=")
        done = await process.next_line("DONE=")
        code = await process.wait()
        return ready, done, await process.next_line(), code

    assert asyncio.run(scenario()) == ("1", "2", None, 0)
    assert out.getvalue() == ""  # nothing printed: it all went to the file
    assert sorted(log.read_text().splitlines()) == sorted(
        ["earlier run", "noise", "READY=1", "oops", "DONE=2"]
    )


def test_without_lines_to_read_the_process_writes_its_log_file_itself(tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"

    async def scenario() -> tuple[str, bool]:
        console = Console(colour=False, stream=io.StringIO())
        process = ManagedProcess("quiet", ["bash", "-c", "echo one; echo two >&2; sleep 300"],
                                 env=os.environ, cwd=tmp_path, console=console,
                                 log_file=log)  # fmt: skip
        await process.start()
        for _ in range(100):
            if len(process.log_tail().splitlines()) == 2:
                break
            await asyncio.sleep(0.05)
        tail = process.log_tail(1)
        process.kill()
        await process.wait()
        return tail, process.running

    assert asyncio.run(scenario()) == ("two", False)
    assert log.read_text().splitlines() == ["one", "two"]


def _logged(name: str, script: str, tmp_path: Path) -> ManagedProcess:
    console = Console(colour=False, stream=io.StringIO())
    return ManagedProcess(name, ["bash", "-c", script], env=os.environ, cwd=tmp_path,
                          console=console, log_file=tmp_path / f"{name}.log",
                          keep_lines=True)  # fmt: skip


async def _failure(waiting: Awaitable[object]) -> str:
    with pytest.raises(StackError) as failed:
        await waiting
    return str(failed.value)


def test_a_prefixed_line_is_awaited_and_a_dead_or_silent_process_is_named(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        ok = _logged("ok", "echo noise; echo 'READY= 7 '; sleep 300", tmp_path)
        dead = _logged("dead", "echo broken >&2", tmp_path)
        silent = _logged("silent", "sleep 300", tmp_path)
        for process in (ok, dead, silent):
            await process.start()
        try:
            return [
                await read_prefixed_line(ok, "READY=", 30),
                await _failure(read_prefixed_line(dead, "READY=", 30)),
                await _failure(read_prefixed_line(silent, "READY=", 0.2)),
            ]
        finally:
            for process in (ok, dead, silent):
                await process.stop()

    assert asyncio.run(scenario()) == [
        "7",
        "dead exited before it was ready:\nbroken",
        "silent printed no READY within 0 s",
    ]


def test_waiting_for_a_url_ends_at_its_200_or_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    web = f"echo serving >&2; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"

    async def scenario() -> list[str]:
        server = _logged("web", web, tmp_path)
        gone = _logged("gone", "echo no settings >&2; exit 1", tmp_path)
        slow = _logged("slow", "echo starting >&2; sleep 300", tmp_path)
        for process in (server, gone, slow):
            await process.start()
        try:
            await wait_until_ready(server, url, within=30)
            await server.stop()
            return [
                await _failure(wait_until_ready(gone, url, within=30)),
                await _failure(wait_until_ready(slow, url, within=0.5)),
            ]
        finally:
            for process in (server, gone, slow):
                await process.stop()

    assert asyncio.run(scenario()) == [
        "gone exited:\nno settings",
        f"slow not ready at {url} after 0 s:\nstarting",
    ]


def test_printed_server_urls_never_show_a_password() -> None:
    assert (
        redact_credentials("mongodb://bank:s3cr@t@db1,db2/?replicaSet=rs0&x=a@b")
        == "mongodb://bank:***@db1,db2/?replicaSet=rs0&x=a@b"
    )
    assert redact_credentials("amqp://127.0.0.1:5672/") == "amqp://127.0.0.1:5672/"


def test_local_services_get_their_own_broker_users_and_the_consumer_trusts_the_login(
    tmp_path: Path,
) -> None:
    users = stack_users(tmp_path)
    env = service_broker_env("127.0.0.1", 5672, users, ("pw/one", "pw two"))
    login, promotion = urlsplit(env["LOGIN_RABBITMQ_URL"]), urlsplit(env["PROMOTION_RABBITMQ_URL"])
    assert (login.username, unquote(login.password or "")) == (users[0], "pw/one")
    assert (promotion.username, unquote(promotion.password or "")) == (users[1], "pw two")
    assert env["PROMOTION_TRUSTED_PUBLISHER"] == users[0] != users[1]


def test_each_data_folder_has_its_own_broker_users(tmp_path: Path) -> None:
    """Two checkouts on one broker never share (and so never re-password) each other's users."""
    first, second = stack_users(tmp_path / "one"), stack_users(tmp_path / "two")
    assert first == stack_users(tmp_path / "one"), "stable across runs of one stack"
    assert set(first).isdisjoint(second)
    assert first[0].startswith(f"{LOGIN_USER}-")
    assert first[1].startswith(f"{PROMOTION_USER}-")


def test_the_announcement_names_the_users_the_services_really_use_without_passwords() -> None:
    env = {
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "LOGIN_RABBITMQ_URL": "amqp://login-x:s3cret1@127.0.0.1:5672/",
        "PROMOTION_RABBITMQ_URL": "amqp://promotion-x:s3cret2@127.0.0.1:5672/",
    }
    assert announced_brokers(env) == [
        ("login", "amqp://login-x:***@127.0.0.1:5672/"),
        ("promotion", "amqp://promotion-x:***@127.0.0.1:5672/"),
    ]
    shared = {"RABBITMQ_URL": "amqp://bank:s3cret@mq:5672/"}
    assert [url for _, url in announced_brokers(shared)] == ["amqp://bank:***@mq:5672/"] * 2


def test_broker_urls_set_by_the_developer_are_kept_and_no_user_is_created(
    repo_root: Path, tmp_path: Path
) -> None:
    """A `.env` with its own LOGIN_/PROMOTION_RABBITMQ_URL wins over the local users."""
    given = {
        "LOGIN_RABBITMQ_URL": "amqp://mine:pw@127.0.0.1:5672/",
        "PROMOTION_TRUSTED_PUBLISHER": "mine",
        "DEV_DATA_DIR": str(tmp_path / "data"),
        # rabbitmqctl would be found nowhere: a creation attempt would say so in the output.
        "PATH": str(tmp_path),
    }
    out = io.StringIO()
    config = load_config(given, repo_root)
    stack = Stack(config, Console(colour=False, stream=out), given)
    assert asyncio.run(_local_broker_users(stack)) == {}
    assert "LOGIN_RABBITMQ_URL set: used as given, no broker users created" in out.getvalue()
    assert not (tmp_path / "data").exists(), "no passwords generated"
