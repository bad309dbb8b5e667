"""Our log lines and the libraries' land on stderr as one JSON line each, below the level
nothing, and an exception is rendered as a structured traceback without local variables."""

import json
import logging
from typing import Any

import pytest
import structlog

from promotion_service.logs import configure_logging


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_each_call_is_one_json_line_with_level_logger_time_and_bound_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=True)
    log = structlog.get_logger("promotion_service.consumer").bind(event_id="evt-1")

    log.info("event_handled", outcome="beyond_campaign")
    log.bind(attempt=2).warning("event_failed")
    logging.getLogger("aio_pika").warning("connection %s lost", "amqp")

    first, second, foreign = lines(capsys)
    assert first["event"] == "event_handled"
    assert first["outcome"] == "beyond_campaign"
    assert first["event_id"] == "evt-1"
    assert first["level"] == "info"
    assert first["logger"] == "promotion_service.consumer"
    assert first["timestamp"].endswith("Z")
    assert (second["event"], second["level"], second["attempt"]) == ("event_failed", "warning", 2)
    assert (foreign["event"], foreign["logger"]) == ("connection amqp lost", "aio_pika")


def test_a_value_the_fast_serializer_refuses_is_still_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=True)
    log = structlog.get_logger("promotion_service.consumer")

    log.warning("odd_values", huge=2**70, mapping={1: "one"})
    log.info("event_handled", first_login_order=101)

    odd, usual = lines(capsys)
    assert (odd["huge"], odd["mapping"]) == (2**70, {"1": "one"})
    assert usual["first_login_order"] == 101


def test_lines_below_the_level_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=True, level="WARNING")
    log = structlog.get_logger("promotion_service.consumer")

    log.info("event_handled")
    log.debug("noise")
    log.error("message_handling_failed")

    assert [line["event"] for line in lines(capsys)] == ["message_handling_failed"]
    configure_logging(json_logs=True)


def test_an_exception_is_a_traceback_without_its_locals(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=True)
    secret = "stored-value-42"

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("promotion_service.consumer").exception("failed")

    (line,) = lines(capsys)
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert secret not in json.dumps(line)


def test_console_lines_are_written_one_per_call(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=False)

    structlog.get_logger("promotion_service.consumer").info("consumer_started", prefetch=16)

    output = capsys.readouterr().err
    assert output.count("\n") == 1
    assert "consumer_started" in output
    assert "prefetch=16" in output
    configure_logging(json_logs=True)
