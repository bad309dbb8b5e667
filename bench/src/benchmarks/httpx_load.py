"""Fallback load generator (when wrk is not installed): httpx, bounded concurrency.

``python -m benchmarks.httpx_load '{"method": ..., "data": FILE, ...}'`` prints one
``LOAD_RESULT {...}`` line, the same as the wrk script.
"""

import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import RESULT_PREFIX


async def _run(spec: dict[str, Any]) -> dict[str, float | int]:
    lines = Path(spec["data"]).read_text().splitlines()
    cycle = itertools.cycle(lines)
    latencies: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=spec["connections"])
    async with httpx.AsyncClient(base_url=spec["base_url"], limits=limits, timeout=15.0) as client:
        started = time.perf_counter()
        deadline = started + float(spec["seconds"])

        async def worker() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                line = next(cycle)
                sent = time.perf_counter()
                try:
                    if spec["kind"] == "body":
                        response = await client.request(
                            spec["method"],
                            spec["path"],
                            content=line,
                            headers={"Content-Type": "application/json"},
                        )
                    else:
                        response = await client.request(
                            spec["method"],
                            spec["path"],
                            headers={"Authorization": f"Bearer {line}"},
                        )
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - sent)
                failed += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(int(spec["connections"]))))
        took = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "requests": len(latencies),
        "seconds": took,
        "failed": failed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def main() -> None:
    result = asyncio.run(_run(json.loads(sys.argv[1])))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
