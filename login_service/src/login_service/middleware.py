"""ASGI middleware: request id, body size limit, one log line and metrics per request."""

import re
import time
import uuid

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from login_service.metrics import ServiceMetrics
from login_service.problems import problem_response
from login_service.raised_at import raised_at

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

log = structlog.get_logger("login_service.http")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is sane, else a new one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _protective_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """No MIME sniffing, and no caching of what a route did not declare cacheable: the
    responses carry personal data and tokens unless a route says otherwise (the JWKS)."""
    added = [(b"x-content-type-options", b"nosniff")]
    if not any(name.lower() == b"cache-control" for name, _ in headers):
        added.append((b"cache-control", b"no-store"))
    return added


class _BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Outermost layer of the app: every response, even a 413 or a 500, passes here."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ServiceMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                headers += _protective_headers(headers)
                message = {**message, "headers": headers}
            await send(message)

        # The request's context starts empty; what the route binds (a login's outcome)
        # joins this request's one log line and goes with it.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            replay = await self._bounded_body(scope, receive)
            await self.app(scope, replay, send_with_id)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the last resort: answer 500, never crash
            # Type and place only: exception messages may quote data (inputs, documents).
            log.error("unhandled_error", error=type(exc).__name__, at=raised_at(exc))
            if not response_started:
                response = problem_response(
                    Request(scope), 500, "internal-error", "An unexpected error occurred."
                )
                await response(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413: the body, declared or read, is over the limit."""
        response = problem_response(
            Request(scope),
            413,
            "payload-too-large",
            f"The request body must not exceed {self.max_body_bytes} bytes.",
        )
        await response(scope, receive, send)

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read the whole body (at most the limit) before the app sees it."""
        if scope["method"] not in _BODY_METHODS:
            return receive
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay(
            [{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive
        )

    def _record(self, scope: Scope, status: int, duration: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.http_requests.labels(scope["method"], template, str(status)).inc()
        self.metrics.http_duration.labels(scope["method"], template).observe(duration)
        log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            status=status,
            duration_ms=round(duration * 1000, 2),
        )


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
