"""ASGI middleware: request ids, one log line and metrics per request, and a body size limit."""

import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promotion_service.metrics import ApiMetrics
from promotion_service.problems import internal_error_response, payload_too_large_response
from promotion_service.raised_at import raised_at

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

log = structlog.get_logger("promotion_service.http")


def request_id_from(value: str | None) -> str:
    """The caller's id if sane (<=128 of [A-Za-z0-9._-]), else a fresh uuid4 hex."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _protective_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """No MIME sniffing, and no caching of what a route did not declare cacheable: vouchers
    and redemptions are personal, financial data."""
    added = [(b"x-content-type-options", b"nosniff")]
    if not any(name.lower() == b"cache-control" for name, _ in headers):
        added.append((b"cache-control", b"no-store"))
    return added


class RequestContextMiddleware:
    """Sets X-Request-ID on every response and logs one line per request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] += _protective_headers(message["headers"])
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here rather than by the server-error layer outside this middleware,
            # so that a 500 carries its X-Request-ID too.
            # Type and place only: exception messages may quote data (inputs, documents).
            log.error("unhandled_error", error=type(exc).__name__, at=raised_at(exc))
            if response_started:
                raise
            await internal_error_response(Request(scope))(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        """The request's metrics, by route template, and its one log line."""
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.http_requests.labels(scope["method"], template, str(status)).inc()
        self.metrics.http_duration.labels(scope["method"], template).observe(elapsed)
        state: dict[str, Any] = scope.get("state", {})
        log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            route=template,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            account_id=state.get("account_id"),
        )


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over `max_bytes`, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._detail = f"The request body must not exceed {max_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Routes re-raise HTTPExceptions from body reading; problems.py renders it.
                    raise HTTPException(413, self._detail)
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Inside RequestContextMiddleware: the scope's state already holds the request id.
        await payload_too_large_response(Request(scope), self._detail)(scope, receive, send)
