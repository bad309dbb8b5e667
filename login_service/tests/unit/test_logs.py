"""Our log lines and the libraries' land on stderr as one JSON line each, below the level
nothing, and an exception is rendered as a structured traceback without local variables."""

import json
import logging
from typing import Any

import pytest
import structlog

from login_service.config import Settings
from login_service.logs import configure_logging


def _configure(**settings: Any) -> None:
    configure_logging(Settings(**{"log_format": "json", **settings}))


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_each_call_is_one_json_line_with_level_logger_time_and_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure()
    log = structlog.get_logger("login_service.http")
    structlog.contextvars.bind_contextvars(request_id="req-1", login="success")
    try:
        log.info("request", method="POST", status=200)
    finally:
        structlog.contextvars.clear_contextvars()
    log.warning("database_unavailable", error="AutoReconnect")
    logging.getLogger("uvicorn.error").warning("worker %s started", 7)

    first, second, foreign = lines(capsys)
    assert (first["event"], first["method"], first["status"]) == ("request", "POST", 200)
    assert (first["request_id"], first["login"]) == ("req-1", "success")
    assert (first["level"], first["logger"]) == ("info", "login_service.http")
    assert first["timestamp"].endswith("Z")
    assert (second["level"], "request_id" in second) == ("warning", False)
    assert (foreign["event"], foreign["logger"]) == ("worker 7 started", "uvicorn.error")


def test_configuring_twice_keeps_one_handler_and_one_line_per_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure()
    _configure()
    logging.getLogger("uvicorn.error").warning("once")
    structlog.get_logger("login_service").info("started")

    assert [line["event"] for line in lines(capsys)] == ["once", "started"]


def test_a_value_the_fast_serializer_refuses_is_still_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure()
    structlog.get_logger("login_service").warning("odd_values", huge=2**70, mapping={1: "one"})

    (odd,) = lines(capsys)
    assert (odd["huge"], odd["mapping"]) == (2**70, {"1": "one"})


def test_lines_below_the_level_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    _configure(log_level="WARNING")
    log = structlog.get_logger("login_service")
    log.info("request")
    logging.getLogger("uvicorn.error").info("noise")
    log.error("unhandled_error")

    assert [line["event"] for line in lines(capsys)] == ["unhandled_error"]
    _configure()


def test_an_exception_is_a_traceback_without_its_locals(capsys: pytest.CaptureFixture[str]) -> None:
    _configure()
    password = "Secret-Password-42"  # a local of the failing frame

    try:
        raise RuntimeError(f"boom {len(password)}")
    except RuntimeError:
        structlog.get_logger("login_service").exception("failed")

    (line,) = lines(capsys)
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert password not in json.dumps(line)


def test_console_lines_are_written_one_per_call(capsys: pytest.CaptureFixture[str]) -> None:
    _configure(log_format="console")
    structlog.get_logger("login_service").info("started", environment="development")

    output = capsys.readouterr().err
    assert output.count("\n") == 1
    assert "started" in output
    assert "environment=development" in output
    _configure()
