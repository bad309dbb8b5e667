"""Every secret setting may be given as a file, `NAME_FILE`, as mounted secrets are."""

import json
from pathlib import Path

import pytest

from promotion_service.config import Settings, get_settings, settings_or_exit


def _secret(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")  # as `echo` or an editor writes it
    return str(path)


def test_secrets_are_read_from_their_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "mongodb://svc:db-secret@db:27017/?replicaSet=rs0"
    monkeypatch.setenv("MONGODB_URI_FILE", _secret(tmp_path, "uri", uri))
    monkeypatch.setenv("RABBITMQ_URL_FILE", _secret(tmp_path, "shared", "amqp://a:b@mq:5672/"))
    monkeypatch.setenv(
        "PROMOTION_RABBITMQ_URL_FILE", _secret(tmp_path, "own", "amqp://promo:pw@mq:5672/")
    )
    settings = Settings()
    assert settings.mongodb_uri == uri
    assert settings.rabbitmq_url == "amqp://promo:pw@mq:5672/"
    assert settings.shared_rabbitmq_url == "amqp://a:b@mq:5672/"


def test_a_more_specific_variable_set_itself_wins_over_a_shared_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTION_RABBITMQ_URL", "amqp://promo:env@mq:5672/")
    monkeypatch.setenv("RABBITMQ_URL_FILE", _secret(tmp_path, "shared", "amqp://a:b@mq:5672/"))
    assert Settings().rabbitmq_url == "amqp://promo:env@mq:5672/"


def test_an_unreadable_secret_file_stops_the_start_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONGODB_URI_FILE", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            settings_or_exit()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["reason"].startswith("MONGODB_URI_FILE: cannot read ")
