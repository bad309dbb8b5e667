"""Structured logging to stderr: JSON lines in production (or with LOGIN_LOG_FORMAT=json),
readable console lines otherwise.

Our own log lines (structlog) are rendered by structlog and written straight to stderr, one
write per line, with no standard-library record in between: every request writes one line,
and the stdlib path (a ``LogRecord``, the caller's frame, handler locks, a second
formatting pass) cost three times as much as rendering it. JSON lines are serialized by
orjson (the same output as the standard library's, in compact form). Libraries' stdlib
records go through one handler that renders them with the same processors, so every line
has one format.

Tracebacks never include local variables (``show_locals=False``; plain tracebacks on the
console), which could hold passwords or tokens.
"""

import json
import logging
import sys
import threading
from typing import Any, TextIO

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer

from login_service.config import Settings
from login_service.tracing import add_trace_ids

_HANDLER_NAME = "login_service"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the current sys.stderr (which may be replaced after configuration)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _StderrLogger:
    """Writes each rendered line (JSON bytes, or console text) to the current sys.stderr,
    whole, one line at a time."""

    _lock = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name  # read by add_logger_name

    def msg(self, line: str | bytes) -> None:
        with self._lock:
            stream = sys.stderr
            if isinstance(line, bytes):
                stream.flush()  # text written before goes first
                stream.buffer.write(line + b"\n")
                stream.buffer.flush()
            else:
                stream.write(line + "\n")
                stream.flush()

    debug = info = warning = warn = error = err = critical = exception = fatal = log = msg


def _json_bytes(value: object, **options: Any) -> bytes:
    """orjson's rendering; the standard library's for what orjson refuses (an integer
    beyond 64 bits, a key that is not a string), so no value can keep a line unwritten."""
    try:
        return orjson.dumps(value, **options)
    except orjson.JSONEncodeError:
        return json.dumps(value, **options).encode()


def _stderr_logger(*args: object) -> _StderrLogger:
    """structlog's logger factory: ``get_logger(name)`` names the line's ``logger``."""
    return _StderrLogger(str(args[0]) if args else "")


def _shared_processors(*, json_logs: bool, trace_ids: bool) -> list[structlog.types.Processor]:
    """What every line gets, ours and libraries': context, level, logger name and time; the
    active span's ids when tracing; in JSON, a traceback as data (without local variables)."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if trace_ids:
        shared.append(add_trace_ids)
    if json_logs:
        shared.append(
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        )
    return shared


def _renderers(*, json_logs: bool) -> tuple[structlog.types.Processor, structlog.types.Processor]:
    """The renderer of libraries' records (text, for the stdlib handler) and of our own lines
    (bytes in JSON, written as they are)."""
    if json_logs:
        return (
            structlog.processors.JSONRenderer(),
            structlog.processors.JSONRenderer(serializer=_json_bytes),
        )
    console = structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )
    return console, console


def configure_logging(settings: Settings, *, trace_ids: bool = False) -> None:
    """Configure structlog and the root logger (idempotent: one handler of ours).

    ``trace_ids`` (tracing on): each line made while a span is active names its
    ``trace_id`` and ``span_id``; off, not even the look-up is made."""
    json_logs = settings.effective_log_format == "json"
    shared = _shared_processors(json_logs=json_logs, trace_ids=trace_ids)
    renderer, own_renderer = _renderers(json_logs=json_logs)
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, own_renderer],
        logger_factory=_stderr_logger,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = _StderrHandler()
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(formatter)
    root.setLevel(level)
    # Requests are logged once by our middleware; uvicorn's access log would repeat them.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aio_pika", "aiormq", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
