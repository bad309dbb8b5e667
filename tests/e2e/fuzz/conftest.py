"""Fuzz and bad-input tests against both running APIs, and the table of what they tried.

The `stack` fixture is the end-to-end one (both services started on free ports with the
MongoDB wire stand-in, or LOGIN_URL/PROMOTION_URL). `FUZZ_EXAMPLES` scales the
property-based runs (`make fuzz` raises it); the seed is fixed, so a run is repeatable.
"""

from __future__ import annotations

import pytest

from tests.e2e.fuzz.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.rows:
        return
    terminalreporter.section("fuzzing and bad input: what was tried")
    for line in TALLY.table():
        terminalreporter.write_line(line)
