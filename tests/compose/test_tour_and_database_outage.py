"""On one stack with an untouched campaign: the README tour and the fuzzer through the proxy
(each needs a free slot); then the database stopped and started again."""

from __future__ import annotations

import time

import httpx

from tests.compose.stack import ComposeStack, compose_stack
from tests.compose.test_end_to_end_through_the_proxy import assert_passed_without_skips, run_e2e
from tests.e2e.flows import log_in, register, wait_for_voucher
from tests.e2e.fuzz.fuzz_stack import GENEROUS_BUDGETS

OUTAGE_TIMEOUT_SECONDS = 90


def _until(check: object, what: str, timeout: float = OUTAGE_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()  # type: ignore[operator]
        if last is True:
            return
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout:.0f} s; last seen: {last}")


def _unavailable(client: httpx.Client, stack: ComposeStack) -> object:
    """True once both APIs answer 503 with Retry-After and both readyz name the database."""
    answers = {
        "login": client.post(
            "/v1/auth/login", json={"identifier": "nobody-at-all", "password": "x" * 12}
        ),
        "promotion": client.get("/v1/campaigns/first-login"),
        "login readyz": client.get("/login/readyz"),
        "promotion readyz": client.get("/promotion/readyz"),
    }
    seen = {
        name: (r.status_code, r.headers.get("retry-after"), r.text[:200])
        for name, r in answers.items()
    }
    ok = all(r.status_code == 503 for r in answers.values())
    ok = ok and all(answers[name].headers.get("retry-after") for name in ("login", "promotion"))
    ok = ok and all(
        "mongodb" in answers[name].text for name in ("login readyz", "promotion readyz")
    )
    return True if ok else seen


def test_the_tour_the_fuzzer_then_a_database_outage_is_503_and_service_resumes() -> None:
    # The fuzzer's failed logins all come from this machine, which the proxy makes one client
    # network: the budgets the fuzzer's own local stack gets, through the compose variables.
    with compose_stack("outage", GENEROUS_BUDGETS) as stack:
        assert_passed_without_skips(
            run_e2e(stack.url, "tests/e2e/test_readme_tour.py", "tests/e2e/fuzz")
        )
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            stack.compose("stop", "mongodb")
            _until(lambda: _unavailable(client, stack), "both APIs did not answer 503")
            stack.compose("start", "mongodb")
            _until(
                lambda: all(
                    client.get(path).status_code == 200
                    for path in ("/login/readyz", "/promotion/readyz")
                ),
                "both APIs were not ready again",
            )
            urls = stack.urls
            voucher = wait_for_voucher(client, urls, log_in(client, urls, register(client, urls)))
            assert voucher["discount_percent"] == 30, voucher
