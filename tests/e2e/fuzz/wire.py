"""Raw HTTP/1.1 over a socket: requests no well-behaved client library would send."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSWER_TIMEOUT_SECONDS = 30.0  # "never a hang": a server that does not answer fails the test


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _send_all(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def raw_request(base_url: str, head: str, body: bytes = b"") -> RawResponse:
    """Send `head` (request line and headers, without the blank line) and `body` as is."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with socket.create_connection((host, port), timeout=ANSWER_TIMEOUT_SECONDS) as sock:
        request = head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body
        # Sent from a thread while the answer is read here: a server may answer (413) and
        # close before it has read a large body, which is what it should do.
        sender = threading.Thread(target=_send_all, args=(sock, request), daemon=True)
        sender.start()
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
        sender.join(ANSWER_TIMEOUT_SECONDS)
    head_bytes, _, rest = received.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(status, headers, rest)
