"""The `monitoring` profile: its Prometheus scrapes every part of the stack (each consumer
replica, the broker's plugin per queue) and evaluates the rule files the other tests check."""

from __future__ import annotations

import time
from typing import Any

import httpx
import yaml

from tests.compose.stack import REPO_ROOT, compose_stack, free_port
from tests.e2e.flows import log_in, register, wait_for_voucher

JOBS = {"login-api", "promotion-api", "promotion-consumer", "rabbitmq"}
CONSUMERS = 2
TIMEOUT_SECONDS = 180.0  # scrapes and rule evaluations every 15 s


def _api(prometheus: httpx.Client, path: str, **params: str) -> Any:
    response = prometheus.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _eventually(check: Any, what: str, state: Any) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {TIMEOUT_SECONDS:.0f} s\n{state()}")
        time.sleep(2)


def test_the_monitoring_profile_scrapes_every_replica_and_loads_the_rules() -> None:
    port = free_port()
    rule_names = {
        rule.get("alert") or rule.get("record")
        for path in (REPO_ROOT / "deploy/prometheus/rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    with (
        compose_stack(
            "monitoring",
            {"COMPOSE_PROFILES": "monitoring", "PROMETHEUS_PORT": str(port)},
            "--scale",
            f"promotion-consumer={CONSUMERS}",
        ) as stack,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as prometheus,
        httpx.Client(timeout=30) as http,
    ):
        session = log_in(http, stack.urls, register(http, stack.urls))
        wait_for_voucher(http, stack.urls, session)

        def targets() -> list[dict[str, Any]]:
            active: list[dict[str, Any]] = _api(prometheus, "targets")["activeTargets"]
            return active

        def every_target_up() -> bool:
            active = targets()
            jobs = [target["labels"]["job"] for target in active]
            return (
                set(jobs) == JOBS
                and jobs.count("promotion-consumer") == CONSUMERS
                and all(target["health"] == "up" for target in active)
            )

        _eventually(every_target_up, "every target up, each consumer replica", targets)

        def rules() -> dict[str, str]:
            groups = _api(prometheus, "rules")["groups"]
            return {rule["name"]: rule["health"] for g in groups for rule in g["rules"]}

        _eventually(
            lambda: set(rules()) == rule_names and set(rules().values()) == {"ok"},
            "every rule loaded and evaluated without error",
            rules,
        )

        def query(expression: str) -> list[dict[str, Any]]:
            result: list[dict[str, Any]] = _api(prometheus, "query", query=expression)["result"]
            return result

        # Per queue, from the broker's plugin; the consumers say they consume; the grant shows.
        checks = {
            'rabbitmq_queue_consumers{queue="promotion.first_login"} > 0': 1,
            "promotion_consumer_consuming == 1": CONSUMERS,
            'max(promotion_campaign_slots_claimed{campaign="first-login"}) >= 1': 1,
        }

        def found() -> dict[str, int]:
            return {expression: len(query(expression)) for expression in checks}

        _eventually(
            lambda: found() == checks,
            "the queue's consumers, the consumers' heartbeat, the campaign's fill",
            found,
        )
