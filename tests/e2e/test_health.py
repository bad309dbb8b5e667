"""Health endpoints of both APIs, as a load balancer or an orchestrator sees them."""

import httpx

from tests.e2e.harness import StackUrls


def test_both_apis_answer_alive_on_healthz(http: httpx.Client, stack: StackUrls) -> None:
    for base in (stack.login_health, stack.promotion_health):
        response = http.get(f"{base}/healthz")
        assert response.status_code == 200, base
        assert response.json()["status"] == "ok"


def test_both_apis_are_ready_and_name_each_dependency(http: httpx.Client, stack: StackUrls) -> None:
    for base in (stack.login_health, stack.promotion_health):
        response = http.get(f"{base}/readyz")
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert checks["mongodb"] == "ok"
        assert len(checks) >= 2, checks


def test_every_response_carries_the_callers_request_id(
    http: httpx.Client, stack: StackUrls
) -> None:
    for url in (f"{stack.login_health}/healthz", f"{stack.promotion}/v1/campaigns/first-login"):
        response = http.get(url, headers={"X-Request-ID": "e2e-trace-42"})
        assert response.headers["X-Request-ID"] == "e2e-trace-42", url


def test_both_apis_serve_prometheus_metrics(http: httpx.Client, stack: StackUrls) -> None:
    for base in (stack.login_health, stack.promotion_health):
        response = http.get(f"{base}/metrics")
        assert response.status_code == 200
        assert "# TYPE" in response.text
