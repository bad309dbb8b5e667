"""The end-to-end suite, speaking HTTP only, against a compose stack through its proxy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import httpx

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


# The network this machine reaches the proxy from (Docker's bridge gateways) stands for a load
# balancer in front of it: its X-Forwarded-For is believed.
LOAD_BALANCER = "172.16.0.0/12"
NETWORK_BUDGET = 20  # LOGIN_THROTTLE_CLIENT_MAX_FAILURES, the compose file's default


def test_the_end_to_end_suite_passes_through_the_proxy() -> None:
    """Everything but the fuzzer and the tour, which need a campaign with free slots: the
    first-100 test (run first) fills this stack's campaign. Then clients behind a load
    balancer are throttled each by its own address."""
    ignored = [f"--ignore={path}" for path in LEFT_TO_MAKE_DEV]
    with compose_stack("e2e", {"PROXY_TRUSTED_UPSTREAM": LOAD_BALANCER}) as stack:
        result = run_e2e(
            stack.url,
            "tests/e2e",
            *ignored,
            "--ignore=tests/e2e/test_readme_tour.py",
            "--ignore=tests/e2e/fuzz",
        )
        assert_passed_without_skips(result)
        statuses = _guesses_behind_a_load_balancer(stack.url)
    assert statuses["spent"] == [401] * NETWORK_BUDGET
    assert statuses["forged leading hop"] == 429, "a forged hop escaped the client's budget"
    assert statuses["another client"] == 401, "one client's failures throttled another"


def _guesses_behind_a_load_balancer(url: str) -> dict[str, Any]:
    """Wrong guesses at unknown identifiers, each client named by the load balancer's
    X-Forwarded-For: one client spends its network's budget, then it tries again behind a
    forged leading hop, then another client tries."""
    tag = secrets.token_hex(4)

    def guess(client: httpx.Client, forwarded_for: str, n: int) -> int:
        body = {"identifier": f"nobody-{tag}-{n}", "password": "not the password at all"}
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/v1/auth/login", json=body, headers=headers).status_code

    with httpx.Client(base_url=url, timeout=30) as client:
        return {
            "spent": [guess(client, "198.51.100.7", n) for n in range(NETWORK_BUDGET)],
            "forged leading hop": guess(client, "203.0.113.66, 198.51.100.7", NETWORK_BUDGET),
            "another client": guess(client, "198.51.100.8", NETWORK_BUDGET + 1),
        }
