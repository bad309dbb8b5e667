"""The dashboard is in the form Grafana's import takes: a Prometheus data source asked for at
import (`__inputs`), and every panel and query bound to it. (Its queries are evaluated
against a real Prometheus by tests/e2e/test_prometheus_scrape.py.)"""

import json
from pathlib import Path

import pytest

DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "deploy/grafana").glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# What the issue asks the dashboard to show, by a metric each such panel must query.
SHOWN = (
    "login_attempts_total",
    "login_first_logins_total",
    "promotion_vouchers_granted_total",
    "promotion_campaign_slots_claimed",
    "login_outbox_pending_events",
    "login_outbox_oldest_pending_age_seconds",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_consumers",
    "login_http_requests_total",
    "promotion_http_request_duration_seconds_bucket",
    "login_throttle_refusals_total",
)


def test_there_is_a_dashboard() -> None:
    assert DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_the_dashboard_imports_with_a_prometheus_data_source(path: Path) -> None:
    dashboard = json.loads(path.read_text())

    assert dashboard["__inputs"] == [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": dashboard["__inputs"][0]["description"],
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
    queries = " ".join(target["expr"] for panel in panels for target in panel["targets"])
    assert [metric for metric in SHOWN if metric not in queries] == []
