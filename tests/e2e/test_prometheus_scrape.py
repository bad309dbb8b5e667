"""A real Prometheus scrapes a real stack: the rules and the dashboard name series that exist.

Debian's Prometheus runs on a free port with its own data folder and a scrape config made
here, against a stack of this module's own (both APIs, two consumers with their metrics
ports, the relays in the login workers) on a throwaway RabbitMQ node with the
`rabbitmq_prometheus` plugin (the machine's broker is never touched). After a short tour of
traffic, every metric selector of every rule file and of the dashboard is evaluated through
Prometheus's HTTP API and must match series, so a misspelt metric or label fails here. Then
a fault (the consumers frozen with SIGSTOP while first-login events wait) makes the queue's
alert pending or firing, from a test-only copy of the rule with a shortened `for:`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml

from tests.e2e.flows import campaign, log_in, register, wait_for_voucher
from tests.e2e.harness import (
    REPO_ROOT,
    LocalStack,
    StackUrls,
    free_port,
    serve,
    service_processes,
)
from tests.stack.rabbitmq_node import RabbitNode, throwaway_node

RULES = sorted((REPO_ROOT / "deploy/prometheus/rules").glob("*.yml"))
DASHBOARDS = sorted((REPO_ROOT / "deploy/grafana").glob("*.json"))
READY_TIMEOUT = 60.0
# Grafana's own variables in dashboard queries, as Grafana would fill them in.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
# Selectors that rightly match nothing on a healthy stack. Their metric must still be one a
# target describes (its # HELP / # TYPE), and their labels, where the metric has series, must
# be labels it has; every other selector must match at least one series.
EMPTY_WHILE_HEALTHY = {
    'login_http_requests_total{status=~"5.."}': "no 5xx in the tour",
    'promotion_http_requests_total{status=~"5.."}': "no 5xx in the tour",
    "mongodb_command_failures_total": "no MongoDB command fails in the tour",
    "promotion_events_dead_lettered_total": "nothing dead-lettered in the tour",
}
# Alerts the fault below must make pending or firing (test-only copies, `for:` shortened).
FAULT_ALERTS = ("PromotionQueueNotDraining", "PromotionConsumerDown")
SHORT_FOR = "2s"


@dataclass(frozen=True)
class Selector:
    text: str  # the selector alone: name{matchers}, no offset or range
    metric: str
    labels: tuple[str, ...]
    where: str  # which file and expression it comes from


def _quoted(value: str) -> str:
    return json.dumps(value)  # a PromQL double-quoted string takes JSON's escapes


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def selectors_of(expression: str, where: str) -> list[Selector]:
    """Every vector selector of a PromQL expression, parsed by a PromQL parser."""
    found: list[Selector] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or ""  # none: the selector names it by a __name__ matcher
            matchers = [m for m in node.matchers.matchers if not name or m.name != "__name__"]
            inside = ",".join(
                f"{m.name}{_OPS[str(m.op).rpartition('.')[2]]}{_quoted(m.value)}" for m in matchers
            )
            text = f"{name}{{{inside}}}" if inside else name
            found.append(Selector(text, name, tuple(m.name for m in matchers), where))
        return True

    promql_parser.walk(promql_parser.parse(expression), visit)
    return found


def rule_expressions() -> list[tuple[str, str]]:
    return [
        (f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"])
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def dashboard_expressions() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expression = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expression = expression.replace(variable, value)
                found.append((f"{path.name}: {panel['title']}", expression))
    return found


def test_the_rules_and_the_dashboard_have_queries_to_check() -> None:
    """The check below is not vacuous: the files are there and their queries parse."""
    assert RULES, "no rule file in deploy/prometheus/rules"
    assert DASHBOARDS, "no dashboard in deploy/grafana"
    for where, expression in [*rule_expressions(), *dashboard_expressions()]:
        assert selectors_of(expression, where) or "time()" in expression, where


class Prometheus:
    """Debian's Prometheus on a free port, its data and config in a folder of its own."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail(
                "prometheus is not installed: run scripts/ensure-prometheus.sh (make "
                "test-tools; Debian's prometheus package, as root)"
            )
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_file = folder / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        self.log_path = folder / "prometheus.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def wait_ready(self) -> None:
        until(lambda: self._answers("/-/ready"), READY_TIMEOUT, "Prometheus ready", self.log)

    def _answers(self, path: str) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
        with contextlib.suppress(httpx.HTTPError):
            return self.http.get(path).status_code == 200
        return False

    def api(self, path: str, **params: str) -> Any:
        response = self.http.get(f"/api/v1/{path}", params=params)
        assert response.status_code == 200, f"{path} {params}: {response.text}"
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expression)["result"]
        return result

    def log(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def until(check: Callable[[], bool], timeout: float, what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{log()}")
        time.sleep(0.5)


class ScrapedStack(LocalStack):
    """The local stack on the given broker, each consumer serving metrics on its own port."""

    def __init__(self, workdir: Path, rabbitmq_url: str) -> None:
        super().__init__(workdir)
        self.rabbitmq_url = rabbitmq_url
        self.consumer_ports = _two_free_ports_in_a_row()

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            RABBITMQ_URL=self.rabbitmq_url,
            PROMOTION_CONSUMER_METRICS_PORT=str(self.consumer_ports[0]),
        )
        return env


def _two_free_ports_in_a_row() -> tuple[int, int]:
    """The consumers' metrics ports: devstack gives consumer n the first port + n - 1."""
    import socket

    for _ in range(50):
        first = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", first + 1))
            except OSError:
                continue
        return first, first + 1
    pytest.fail("found no two free ports in a row for the consumers' metrics")


@dataclass
class Monitored:
    stack: StackUrls
    local: ScrapedStack
    prometheus: Prometheus


def _shortened_rules(folder: Path) -> Path:
    """A test-only copy of the fault's alerts, `for:` shortened (the rule files stay as
    they are and are loaded too)."""
    wanted = [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") in FAULT_ALERTS
    ]
    assert sorted(rule["alert"] for rule in wanted) == sorted(FAULT_ALERTS)
    path = folder / "shortened.rules.yml"
    rules = [
        {**rule, "for": SHORT_FOR, "labels": {**rule["labels"], "copy": "test"}} for rule in wanted
    ]
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "shortened-for-the-test", "rules": rules}]})
    )
    return path


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    folder = Path(tmp_path_factory.mktemp("prometheus-scrape"))
    metrics_port = free_port()
    with throwaway_node(
        "prom-scrape",
        plugins=["rabbitmq_prometheus"],
        config=[f"prometheus.tcp.port = {metrics_port}", "prometheus.tcp.ip = 127.0.0.1"],
    ) as node:
        node.start()
        _wait_for_broker_metrics(node, metrics_port)
        local = ScrapedStack(folder / "stack", node.url)
        local.workdir.mkdir()
        local.log_path = local.workdir / "devstack.log"
        for stack in serve(local):
            config = _scrape_config(local, metrics_port, _shortened_rules(folder))
            prometheus = Prometheus(folder, config)
            try:
                prometheus.wait_ready()
                yield Monitored(stack, local, prometheus)
            finally:
                prometheus.stop()


def _wait_for_broker_metrics(node: RabbitNode, port: int) -> None:
    def answers() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).status_code == 200
        return False

    until(answers, READY_TIMEOUT, "the throwaway node's Prometheus endpoint", lambda: node.name)


def _scrape_config(
    local: ScrapedStack, broker_metrics_port: int, shortened: Path
) -> dict[str, Any]:
    """The job names the rules use (login-api, promotion-api, promotion-consumer, rabbitmq);
    every second, so that the test needs seconds, not minutes."""

    def job(name: str, ports: list[int], path: str = "/metrics") -> dict[str, Any]:
        return {
            "job_name": name,
            "metrics_path": path,
            "static_configs": [{"targets": [f"127.0.0.1:{port}" for port in ports]}],
        }

    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in RULES] + [str(shortened)],
        "scrape_configs": [
            job("login-api", [local.login_port]),
            job("promotion-api", [local.promotion_port]),
            job("promotion-consumer", list(local.consumer_ports)),
            # Per queue: the plugin's default endpoint aggregates over queues.
            job("rabbitmq", [broker_metrics_port], "/metrics/per-object"),
        ],
    }


def _tour(stack: StackUrls) -> None:
    """Register, a wrong password, a first login to its voucher, the reads of both APIs."""
    with httpx.Client(timeout=30) as http:
        username = register(http, stack)
        wrong = http.post(
            f"{stack.login}/v1/auth/login",
            json={"identifier": username, "password": "not the password at all"},
        )
        assert wrong.status_code == 401, wrong.text
        session = log_in(http, stack, username)
        wait_for_voucher(http, stack, session)
        campaign(http, stack)
        assert http.get(f"{stack.login}/readyz").status_code == 200
        assert http.get(f"{stack.promotion}/readyz").status_code == 200


def test_every_selector_of_the_rules_and_the_dashboard_matches_scraped_series(
    monitored: Monitored,
) -> None:
    prometheus = monitored.prometheus
    _tour(monitored.stack)
    until(
        lambda: _all_targets_up(prometheus),
        READY_TIMEOUT,
        "every target up",
        lambda: json.dumps(prometheus.api("targets")["activeTargets"], indent=1)[:4000],
    )
    # Scrapes after the tour: the voucher's grant and the campaign's new fill are in.
    time.sleep(3)

    selectors = [
        selector
        for where, expression in [*rule_expressions(), *dashboard_expressions()]
        for selector in selectors_of(expression, where)
    ]
    described = {entry["metric"] for entry in prometheus.api("targets/metadata")}
    recorded = {
        rule["record"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    unmatched = []
    for selector in {s.text: s for s in selectors}.values():
        if ":" in selector.metric:
            # A recording rule's series: its own expression's selectors are checked here,
            # and Prometheus's evaluation of it below.
            assert selector.metric in recorded, f"no recording rule makes {selector.text}"
            continue
        if prometheus.query(f"count({selector.text})"):
            continue
        if selector.text in EMPTY_WHILE_HEALTHY and _known(prometheus, selector, described):
            continue
        unmatched.append(f"{selector.text}  ({selector.where})")
    assert unmatched == [], "selectors matching no series:\n" + "\n".join(unmatched)
    # The check tells: a misspelt label matches nothing.
    assert prometheus.query('count(login_attempts_total{outcom="success"})') == []

    # Prometheus itself evaluates every rule without an error.
    groups = prometheus.api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    expected = {name.split(": ", 1)[1] for name, _ in rule_expressions()}
    assert expected <= set(loaded)
    assert [n for n, rule in loaded.items() if rule.get("health") != "ok"] == []


def _all_targets_up(prometheus: Prometheus) -> bool:
    targets = prometheus.api("targets")["activeTargets"]
    jobs = {target["labels"]["job"] for target in targets if target["health"] == "up"}
    return len(targets) == 5 and all(t["health"] == "up" for t in targets) and len(jobs) == 4


def _known(prometheus: Prometheus, selector: Selector, described: set[str]) -> bool:
    """The metric is one a target describes, and any label the selector names is one of its
    series' labels (when it has series)."""
    family = selector.metric.removesuffix("_total")
    if selector.metric not in described and family not in described:
        return False
    series = prometheus.query(selector.metric)
    return not series or all(
        any(label in entry["metric"] for entry in series) for label in selector.labels
    )


def test_consumers_frozen_while_events_wait_make_the_queue_alerts_fire(
    monitored: Monitored,
) -> None:
    stack, prometheus = monitored.stack, monitored.prometheus
    assert stack.supervisor_pid is not None
    consumers = service_processes(stack.supervisor_pid, "promotion_service.consumer")
    assert len(consumers) == 2, consumers
    assert _alerts(prometheus, FAULT_ALERTS) == {}, "an alert before the fault"
    with httpx.Client(timeout=30) as http:
        for pid in consumers:
            os.kill(pid, signal.SIGSTOP)
        try:
            sessions = [log_in(http, stack, register(http, stack)) for _ in range(3)]
            until(
                lambda: set(_alerts(prometheus, FAULT_ALERTS)) == set(FAULT_ALERTS),
                90,
                "the queue's alerts pending or firing",
                lambda: json.dumps(prometheus.api("alerts"), indent=1)[:4000],
            )
            states = _alerts(prometheus, FAULT_ALERTS)
        finally:
            for pid in consumers:
                os.kill(pid, signal.SIGCONT)
        # Thawed, the consumers grant what waited, and the alerts resolve.
        for session in sessions:
            wait_for_voucher(http, stack, session)
    assert set(states.values()) <= {"pending", "firing"}
    until(
        lambda: _alerts(prometheus, FAULT_ALERTS) == {},
        90,
        "the alerts resolved once the consumers run again",
        lambda: json.dumps(prometheus.api("alerts"), indent=1)[:4000],
    )


def _alerts(prometheus: Prometheus, names: tuple[str, ...]) -> dict[str, str]:
    """State of each named alert that is pending or firing (the test-only copies)."""
    return {
        alert["labels"]["alertname"]: alert["state"]
        for alert in prometheus.api("alerts")["alerts"]
        if alert["labels"]["alertname"] in names and alert["labels"].get("copy") == "test"
    }
