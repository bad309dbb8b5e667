"""The end-to-end suite, speaking HTTP only, against a compose stack through its proxy."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.compose.conftest import LEFT_TO_MAKE_DEV
from tests.compose.stack import REPO_ROOT, compose_stack


def run_e2e(url: str, *selection: str) -> subprocess.CompletedProcess[str]:
    """pytest on `selection` with LOGIN_URL and PROMOTION_URL both the proxy."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *selection],
        cwd=REPO_ROOT,
        env={**os.environ, "LOGIN_URL": url, "PROMOTION_URL": url},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def assert_passed_without_skips(result: subprocess.CompletedProcess[str]) -> None:
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert "skipped" not in summary, f"a test skipped through the proxy:\n{result.stdout[-3000:]}"


def test_the_end_to_end_suite_passes_through_the_proxy() -> None:
    """Everything but the fuzzer and the tour, which need a campaign with free slots: the
    first-100 test (run first) fills this stack's campaign."""
    ignored = [f"--ignore={path}" for path in LEFT_TO_MAKE_DEV]
    with compose_stack("e2e") as stack:
        result = run_e2e(
            stack.url,
            "tests/e2e",
            *ignored,
            "--ignore=tests/e2e/test_readme_tour.py",
            "--ignore=tests/e2e/fuzz",
        )
    assert_passed_without_skips(result)
