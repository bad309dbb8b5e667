"""Structured logging: structlog rendering into the standard library's logging.

JSON in production (or with LOGIN_LOG_FORMAT=json), readable console lines otherwise.
Tracebacks never include local variables, which could hold passwords or tokens.
"""

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from login_service.config import Settings

_HANDLER_NAME = "login_service"


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the root logger once per process (idempotent)."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if settings.effective_log_format == "json":
        shared.append(
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(formatter)
    root.setLevel(settings.log_level.upper())
    # Requests are logged once by our middleware; uvicorn's access log would repeat them.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aio_pika", "aiormq", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
