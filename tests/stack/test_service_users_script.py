"""deploy/rabbitmq/service-users.sh given the services' URLs as mounted secrets: it takes each
password and the vhost from them and refuses a URL naming another user. The broker's side is
a recording stand-in for `rabbitmqctl` here (the script's reading of its inputs is under
test); the compose production scenario runs the script against a real broker."""

import os
import subprocess
from pathlib import Path

import pytest

FAKE_CTL = """#!/bin/bash
case "$1 $2" in
  "-q list_users") exit 0 ;;
esac
if [ "$1" = add_user ] || [ "$1" = change_password ]; then
  echo "$1 $2 $(cat)" >>"$LOG"
else
  echo "$*" >>"$LOG"
fi
"""


def _run(repo_root: Path, tmp_path: Path, **env: str) -> tuple[int, str, list[str]]:
    ctl = tmp_path / "rabbitmqctl"
    ctl.write_text(FAKE_CTL)
    ctl.chmod(0o755)
    log = tmp_path / "calls.log"
    ran = subprocess.run(
        ["bash", str(repo_root / "deploy" / "rabbitmq" / "service-users.sh")],
        env={"PATH": os.environ["PATH"], "RABBITMQCTL": str(ctl), "LOG": str(log), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return ran.returncode, ran.stderr, calls


def _url_file(tmp_path: Path, name: str, url: str) -> str:
    path = tmp_path / name
    path.write_text(url + "\n")
    return str(path)


def test_passwords_and_vhost_come_from_the_services_url_files(
    repo_root: Path, tmp_path: Path
) -> None:
    code, stderr, calls = _run(
        repo_root,
        tmp_path,
        LOGIN_BROKER_USER="login-service",
        PROMOTION_BROKER_USER="promotion-service",
        LOGIN_BROKER_URL_FILE=_url_file(
            tmp_path, "login", "amqps://login-service:p%40ss%2Fw0rd@broker:5671/bank%2Fprod"
        ),
        PROMOTION_BROKER_URL_FILE=_url_file(
            tmp_path, "promotion", "amqps://promotion-service:s3cret@broker:5671/bank%2Fprod"
        ),
    )

    assert code == 0, stderr
    assert "add_user login-service p@ss/w0rd" in calls
    assert "add_user promotion-service s3cret" in calls
    assert [c.split()[3] for c in calls if "set_permissions" in c] == ["bank/prod", "bank/prod"]


@pytest.mark.parametrize(
    ("login_url", "refusal"),
    [
        ("amqp://someone-else:pw@broker/", "names another user than LOGIN_BROKER_USER"),
        ("amqp://login-service@broker/", "no user:password"),
        ("http://login-service:pw@broker/", "not an amqp(s) URL"),
        ("amqp://login-service:pw@broker/other", "two vhosts"),
    ],
)
def test_a_url_that_does_not_fit_stops_before_any_user_is_made(
    repo_root: Path, tmp_path: Path, login_url: str, refusal: str
) -> None:
    code, stderr, calls = _run(
        repo_root,
        tmp_path,
        LOGIN_BROKER_USER="login-service",
        PROMOTION_BROKER_USER="promotion-service",
        PROMOTION_BROKER_URL_FILE=_url_file(
            tmp_path, "promotion", "amqp://promotion-service:pw@broker/"
        ),
        LOGIN_BROKER_URL_FILE=_url_file(tmp_path, "login", login_url),
    )

    assert code != 0
    assert refusal in stderr
    assert calls == []
