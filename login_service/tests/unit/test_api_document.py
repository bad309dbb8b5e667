"""The OpenAPI document a frontend generates its client from, and the offline API docs pages."""

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from importlib.metadata import version
from urllib.parse import urlsplit

import httpx
import pytest

from login_service import __version__
from login_service.config import Settings
from login_service.main import create_app

# operationId -> (method, path). Generated clients name their functions after these ids, so
# renaming one breaks every frontend: change this table only together with the clients.
OPERATIONS = {
    "register": ("post", "/v1/accounts"),
    "getMe": ("get", "/v1/accounts/me"),
    "login": ("post", "/v1/auth/login"),
    "issueToken": ("post", "/v1/auth/token"),
    "getJwks": ("get", "/.well-known/jwks.json"),
    "live": ("get", "/livez"),
    "health": ("get", "/healthz"),
    "ready": ("get", "/readyz"),
    "metrics": ("get", "/metrics"),
}


class _AssetLinks(HTMLParser):
    """Every address a page makes the browser load: script src and link href."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.addresses.append(value)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://login.test") as client:
        yield client


async def test_every_operation_has_its_stable_camel_case_operation_id(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    found = {
        operation.get("operationId"): (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert found == OPERATIONS


async def test_the_document_carries_the_package_version(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    assert document["info"]["version"] == __version__ == version("login-service")


async def test_swagger_ui_loads_only_same_origin_assets_that_the_service_serves(
    client: httpx.AsyncClient,
) -> None:
    page = "/docs"
    response = await client.get(page)
    assert response.status_code == 200
    links = _AssetLinks()
    links.feed(response.text)

    assert links.addresses, f"{page} references no script or style"
    scripts = [address for address in links.addresses if address.endswith(".js")]
    assert scripts, f"{page} loads no script"
    for address in links.addresses:
        # No scheme and no host: the browser fetches it from the page's own origin.
        assert urlsplit(address)[:2] == ("", ""), address
        asset = await client.get(address)
        assert asset.status_code == 200, address
        assert len(asset.content) > 1000, address
    assert "cdn." not in response.text


async def test_swagger_ui_sends_nothing_to_an_outside_validator(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    # ReDoc's bundle loads its logo from its vendor's CDN: the service does not serve it.
    assert (await client.get("/redoc")).status_code == 404

    assert '"validatorUrl": null' in page
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
