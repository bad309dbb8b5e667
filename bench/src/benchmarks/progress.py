"""Progress lines with the time since the run started."""

import sys
import time

_STARTED = time.monotonic()


def elapsed() -> float:
    return time.monotonic() - _STARTED


def say(message: str) -> None:
    minutes, seconds = divmod(int(elapsed()), 60)
    print(f"[{minutes:02d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)
