"""A small deployment of the test's own: API processes started and replaced one at a time
behind a load balancer, as during a rolling deploy."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.e2e.harness import REPO_ROOT, free_port

READY_TIMEOUT_SECONDS = 90.0
# Hop-by-hop headers (RFC 9110 section 7.6.1) and those the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def clean_environment() -> dict[str, str]:
    """The test's environment without any service setting a developer may have exported."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LOGIN_", "PROMOTION_", "DEV_")) and key != "VIRTUAL_ENV"
    }


@dataclass
class ApiProcess:
    """`python -m <module>` of one service project, on a port of its own, logging to a file."""

    label: str
    project: str
    module: str
    env: Mapping[str, str]  # the service's PORT setting is added
    log_path: Path
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        port_setting = "LOGIN_PORT" if self.project == "login_service" else "PROMOTION_PORT"
        env = {**self.env, port_setting: str(self.port)}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                ["uv", "run", "--frozen", "--project", str(REPO_ROOT / self.project),
                 "python", "-m", self.module],
                cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        with httpx.Client(timeout=3.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"{self.label} exited early:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"{self.label} was not ready in time:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (the requests in flight finish), SIGKILL if it is still there after 30 s."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class LoadBalancer:
    """An HTTP proxy that forwards each request to a backend picked at random (so no request
    pattern of a client can keep meeting the same one) and names it in `X-Served-By`.

    `replace` swaps one backend for another between two requests, as a load balancer does
    when a rolling deploy's new instance is ready and the old one is taken out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: list[tuple[str, str]] = []  # (label, url)
        # A proxy keeps no cookie of its own: each request carries its client's only.
        self._upstream = httpx.Client(
            timeout=30.0, cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[]))
        )
        self.port = free_port()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forward(self)

            def do_POST(self) -> None:
                proxy.forward(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, backend: ApiProcess) -> None:
        with self._lock:
            self._backends.append((backend.label, backend.url))

    def replace(self, old: ApiProcess, new: ApiProcess) -> None:
        with self._lock:
            index = [label for label, _ in self._backends].index(old.label)
            self._backends[index] = (new.label, new.url)

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            label, base = secrets.choice(self._backends)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        upstream = self._upstream.request(
            request.command, f"{base}{request.path}", headers=headers, content=body
        )
        request.send_response(upstream.status_code)
        for name, value in upstream.headers.multi_items():
            if name.lower() not in _NOT_FORWARDED:
                request.send_header(name, value)
        request.send_header("X-Served-By", label)
        request.send_header("Content-Length", str(len(upstream.content)))
        request.end_headers()
        request.wfile.write(upstream.content)

    @contextlib.contextmanager
    def running(self) -> Iterator[LoadBalancer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            self._upstream.close()
