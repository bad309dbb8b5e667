"""Every secret setting may be given as a file, `NAME_FILE`, as mounted secrets are."""

import json
from pathlib import Path

import pytest

from login_service.__main__ import settings_or_exit
from login_service.config import Settings, get_settings


def _secret(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")  # as `echo` or an editor writes it
    return str(path)


def test_secrets_are_read_from_their_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "mongodb://svc:db-secret@db:27017/?replicaSet=rs0"
    monkeypatch.setenv("MONGODB_URI_FILE", _secret(tmp_path, "uri", uri))
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY_FILE", _secret(tmp_path, "key", "k" * 40))
    monkeypatch.setenv("RABBITMQ_URL", "amqp://shared:pw@mq:5672/")
    monkeypatch.setenv(
        "LOGIN_RABBITMQ_URL_FILE", _secret(tmp_path, "amqp", "amqp://login:pw@mq:5672/")
    )
    settings = Settings()
    assert settings.mongodb_uri.get_secret_value() == uri
    assert settings.device_token_key is not None
    assert settings.device_token_key.get_secret_value() == "k" * 40
    # The service's own broker user, from its file, before the shared variable.
    assert settings.rabbitmq_url.get_secret_value() == "amqp://login:pw@mq:5672/"


def test_a_variable_set_itself_wins_over_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY", "e" * 40)
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY_FILE", _secret(tmp_path, "key", "k" * 40))
    key = Settings().device_token_key
    assert key is not None
    assert key.get_secret_value() == "e" * 40


def test_an_unreadable_secret_file_stops_the_start_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY_FILE", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            settings_or_exit()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["reason"].startswith("LOGIN_DEVICE_TOKEN_KEY_FILE: cannot read ")


@pytest.mark.parametrize("shared", ["variable", "file"])
def test_an_empty_specific_variable_yields_to_the_shared_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: str
) -> None:
    monkeypatch.setenv("LOGIN_RABBITMQ_URL", "")
    if shared == "variable":
        monkeypatch.setenv("RABBITMQ_URL", "amqp://shared:pw@mq:5672/")
    else:
        monkeypatch.setenv(
            "RABBITMQ_URL_FILE", _secret(tmp_path, "amqp", "amqp://shared:pw@mq:5672/")
        )
    assert Settings().rabbitmq_url.get_secret_value() == "amqp://shared:pw@mq:5672/"


def test_an_emptied_variable_yields_to_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the production override empties the development file's MONGODB_URI."""
    uri = "mongodb://svc:pw@db:27017/?tls=true"
    monkeypatch.setenv("MONGODB_URI", "")
    monkeypatch.setenv("MONGODB_URI_FILE", _secret(tmp_path, "uri", uri))
    assert Settings().mongodb_uri.get_secret_value() == uri
