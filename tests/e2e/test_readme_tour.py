"""The README's 60-second tour runs as written against the running system."""

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import campaign
from tests.e2e.harness import REPO_ROOT, StackUrls

_TOUR = re.compile(r"<!-- tour:start -->\n```bash\n(.*?)```\n<!-- tour:end -->", re.S)


def readme_tour() -> str:
    found = _TOUR.search((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no <!-- tour:start --> ```bash ... ``` <!-- tour:end --> block"
    return found.group(1)


def test_readme_tour_registers_logs_in_sees_and_redeems_a_voucher(
    http: httpx.Client, stack: StackUrls, tmp_path: Path
) -> None:
    state = campaign(http, stack)
    if state["slots_claimed"] >= state["slots_total"]:
        pytest.skip("the campaign of this long-running stack is full: the tour needs a slot")
    script = tmp_path / "tour.sh"
    script.write_text(readme_tour(), encoding="utf-8")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        env={**os.environ, "LOGIN_URL": stack.login, "PROMOTION_URL": stack.promotion},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"tour failed:\n{result.stdout}\n{result.stderr}"
    assert '"first_login_order":' in result.stdout
    assert '"final_amount":"84.00"' in result.stdout
    assert '"discount_amount":"36.00"' in result.stdout
    assert '"slots_claimed":' in result.stdout


def test_readme_tour_uses_only_the_documented_endpoints() -> None:
    tour = readme_tour()
    for path in (
        "/v1/accounts",
        "/v1/auth/login",
        "/v1/accounts/me",
        "/v1/vouchers",
        "/redeem",
        "/v1/campaigns/first-login",
    ):
        assert path in tour
