"""deploy/nginx/default.conf sends every public path of each API to that API."""

import json
import re
from pathlib import Path

import pytest

_LOCATION = re.compile(r"location\s+(=\s+)?(\S+)\s*\{([^}]*)\}", re.S)
UPSTREAMS = {"$login_api": "login", "$promotion_api": "promotion"}


def _routes(repo_root: Path) -> list[tuple[bool, str, str | None]]:
    text = (repo_root / "deploy" / "nginx" / "default.conf").read_text()
    routes = []
    for exact, prefix, body in _LOCATION.findall(text):
        targets = [name for var, name in UPSTREAMS.items() if f"proxy_pass {var}" in body]
        target = targets[0] if targets else None
        routes.append((bool(exact), prefix, target))
    return routes


def _route(repo_root: Path, path: str) -> str | None:
    """nginx's choice among exact and prefix locations: exact match, else longest prefix."""
    routes = _routes(repo_root)
    for exact, prefix, target in routes:
        if exact and path == prefix:
            return target
    prefixes = [(prefix, target) for exact, prefix, target in routes if not exact]
    matching = [item for item in prefixes if path.startswith(item[0])]
    return max(matching, key=lambda item: len(item[0]))[1]


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/accounts", "login"),
        ("/v1/accounts/me", "login"),
        ("/v1/auth/login", "login"),
        ("/v1/auth/token", "login"),
        ("/.well-known/jwks.json", "login"),
        ("/login/readyz", "login"),
        ("/v1/vouchers", "promotion"),
        ("/v1/vouchers/abc/redeem", "promotion"),
        ("/v1/campaigns/first-login", "promotion"),
        ("/promotion/readyz", "promotion"),
        ("/promotion/metrics", "promotion"),
        ("/internal", None),
    ],
)
def test_proxy_sends_each_path_to_the_service_that_owns_it(
    repo_root: Path, path: str, service: str | None
) -> None:
    assert _route(repo_root, path) == service


@pytest.mark.parametrize("service", ["login", "promotion"])
def test_proxy_routes_every_versioned_path_of_the_openapi_document(
    repo_root: Path, service: str
) -> None:
    spec = json.loads((repo_root / "docs" / "openapi" / f"{service}.json").read_text())
    for path in spec["paths"]:
        if path.startswith(("/v1/", "/.well-known/")):
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            assert _route(repo_root, concrete) == service, path


def test_proxy_replaces_a_client_supplied_forwarded_for_header(repo_root: Path) -> None:
    text = (repo_root / "deploy" / "nginx" / "default.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text


def test_metrics_are_served_to_private_networks_only(repo_root: Path) -> None:
    text = (repo_root / "deploy" / "nginx" / "default.conf").read_text()
    bodies = {prefix: body for exact, prefix, body in _LOCATION.findall(text) if exact}
    for service in ("login", "promotion"):
        body = bodies[f"/{service}/metrics"]
        assert "deny all;" in body
        allowed = re.findall(r"allow\s+(\S+);", body)
        assert allowed == ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        assert f"proxy_pass ${service}_api/metrics;" in body
