"""Requests that must each be sent once (registrations, first logins, redemptions), which
wrk, cycling over its lines, cannot send: asyncio workers in the run's own process do."""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.load import LoadResult

# A metered request is awaited however slow the database: one given up on would still be
# worked on by the service, partly inside the metering window and partly after it.
ANSWER_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    sent_at: float  # monotonic
    answered_at: float
    status: int  # 0: no answer (connection error or timeout)
    body: str  # the response's text, for error messages


async def send_each(
    base_url: str,
    calls: list[Call],
    concurrency: int,
    seconds: float,
    timeout: float = ANSWER_TIMEOUT_SECONDS,
    answers: list[Answer] | None = None,
) -> list[Answer]:
    """Send each call once, ``concurrency`` at a time, starting none after ``seconds``;
    append the answers as they arrive to ``answers`` (if given, so progress can be shown)."""
    answers = [] if answers is None else answers
    queue = iter(calls)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            for call in queue:
                if (sent := time.monotonic()) > deadline:
                    return
                try:
                    response = await client.request(
                        call.method, call.path, json=call.json, headers=call.headers
                    )
                    status, body = response.status_code, response.text
                except httpx.HTTPError:
                    status, body = 0, ""
                answers.append(Answer(sent, time.monotonic(), status, body))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def as_load_result(answers: list[Answer], expected: int) -> LoadResult:
    if not answers:
        return LoadResult(0, 0.0, 0, float("nan"), float("nan"))
    seconds = max(a.answered_at for a in answers) - min(a.sent_at for a in answers)
    latencies = [(a.answered_at - a.sent_at) * 1000 for a in answers]
    failed = sum(1 for a in answers if a.status != expected)
    return LoadResult(
        len(answers), seconds, failed, percentile(latencies, 0.5), percentile(latencies, 0.99)
    )
