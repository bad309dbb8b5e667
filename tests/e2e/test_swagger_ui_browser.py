"""The login API's Swagger UI works in a real browser with no internet: Authorize, then getMe.

Debian's Chromium (`/usr/bin/chromium`, installed by `make test` through
scripts/ensure-browser.sh) runs headless under Playwright; Playwright's own browser
downloads are never used. A missing Chromium fails the test, saying how to install it.
"""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.flows import PASSWORD, register
from tests.e2e.harness import StackUrls

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses; --no-sandbox because the tests may run as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 60_000  # a loaded machine renders slowly; nothing here measures speed


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM} is missing): the Swagger UI test drives "
            "Debian's Chromium. `make test` installs it (scripts/ensure-browser.sh, as root); "
            "or run `apt-get install -y chromium`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _authorize(page: Page, username: str) -> None:
    """Swagger's Authorize dialog: the OAuth2 password flow against /v1/auth/token."""
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    dialog.locator("#oauth_username").fill(username)
    dialog.locator("#oauth_password").fill(PASSWORD)
    dialog.locator(".auth-btn-wrapper button.authorize").click()
    # Swagger swaps Authorize for Logout only once the token endpoint answered with a token.
    expect(dialog.locator(".auth-btn-wrapper button", has_text="Logout")).to_be_visible()
    dialog.locator(".auth-btn-wrapper button.btn-done").click()


def _execute_get_me(page: Page) -> None:
    """Try it out, then Execute, on the operation whose operationId is getMe."""
    operation = page.locator("#operations-accounts-getMe")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()


def test_swagger_ui_authorizes_with_a_password_and_calls_get_me(
    chromium: Browser, http: httpx.Client, stack: StackUrls, tmp_path: Path
) -> None:
    username = register(http, stack)
    docs = f"{stack.login_health}/docs"
    screenshot = tmp_path / "swagger-ui-get-me.png"
    context = chromium.new_context(viewport={"width": 1280, "height": 1600})
    context.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(docs)
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Login service")
        _authorize(page, username)
        _execute_get_me(page)

        answer = page.locator("#operations-accounts-getMe .live-responses-table")
        expect(answer.locator("tbody .response-col_status")).to_have_text("200")
        expect(answer).to_contain_text(f'"username": "{username}"')
    finally:
        page.screenshot(path=screenshot, full_page=True)
        context.close()

    assert screenshot.stat().st_size > 10_000
    paths = [urlsplit(url).path for url in requested]
    assert "/v1/auth/token" in paths
    assert "/v1/accounts/me" in paths
    origin = urlsplit(docs)[:2]
    outside = [url for url in requested if urlsplit(url)[:2] != origin]
    assert outside == [], f"the docs page reached beyond its own origin: {outside}"


def test_the_promotion_apis_swagger_ui_renders_from_its_own_origin(
    chromium: Browser, stack: StackUrls
) -> None:
    base = stack.promotion_health
    context = chromium.new_context()
    context.set_default_timeout(UI_TIMEOUT_MS)
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text(
            "Promotion service", timeout=UI_TIMEOUT_MS
        )
        expect(page.locator("#operations-vouchers-redeemVoucher")).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
    finally:
        context.close()

    assert f"{base}/openapi.json" in requested
    outside = [url for url in requested if urlsplit(url)[:2] != urlsplit(base)[:2]]
    assert outside == [], f"the docs page reached beyond its own origin: {outside}"
