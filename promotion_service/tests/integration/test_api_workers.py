"""``python -m promotion_service`` with two Uvicorn workers: one metrics view of both."""

import asyncio
import signal
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from promotion_service import __version__
from promotion_service.config import Settings
from tests.integration.consumer_processes import ConsumerProcess
from tests.jwks_server import JwksServer

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthz_requests(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "promotion_http_requests_total" and sample.labels["route"] == "/healthz"
    )


def _healthz_requests_per_worker(directory: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count, read from its counter file alone."""
    counts = {}
    for values in directory.glob("counter_*.db"):
        alone = scratch / values.stem
        alone.mkdir(parents=True, exist_ok=True)
        (alone / values.name).write_bytes(values.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[values.stem] = _healthz_requests(generate_latest(registry).decode())
    return counts


def start_api(
    settings: Settings, folder: Path, jwks: JwksServer, port: int, **env: str
) -> ConsumerProcess:
    """`python -m promotion_service` with two workers on `port`, verifying with `jwks`."""
    return ConsumerProcess(
        settings,
        folder,
        "api",
        module="promotion_service",
        PROMOTION_PORT=str(port),
        PROMOTION_WORKERS="2",
        PROMOTION_JWKS_URL=jwks.url,
        **env,
    )


async def _ready(base: str, api: ConsumerProcess, workers: int = 2) -> None:
    """Ready, and every worker started: one ready answer comes from whichever worker the
    kernel picked, while the other may still be preparing (`starting`)."""
    deadline = asyncio.get_running_loop().time() + 60
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while asyncio.get_running_loop().time() < deadline:
            assert api.process.poll() is None, f"the API exited during start-up:\n{api.output()}"
            try:
                ready = (await client.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready and api.output().count("api_started") >= workers:
                return
            await asyncio.sleep(0.3)
    pytest.fail(f"the API did not become ready within 60 s:\n{api.output()}")


async def test_metrics_count_the_requests_of_every_worker_whichever_answers(
    settings: Settings, jwks: JwksServer, tmp_path: Path
) -> None:
    port = _free_port()
    metrics = tmp_path / "metrics"
    api = start_api(settings, tmp_path, jwks, port, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(base, api)
        sent = 0
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # New connections until both workers have served some (the kernel picks).
            while sent < 400:
                for _ in range(20):
                    response = await client.get("/healthz", headers={"Connection": "close"})
                    assert response.status_code == 200
                    sent += 1
                per_worker = _healthz_requests_per_worker(metrics, tmp_path / "scratch")
                if sum(1 for count in per_worker.values() if count) == 2:
                    break
            assert sorted(count > 0 for count in per_worker.values()) == [True, True], per_worker
            assert sum(per_worker.values()) == sent

            scrapes = [
                (await client.get("/metrics", headers={"Connection": "close"})).text
                for _ in range(8)
            ]
        assert [_healthz_requests(text) for text in scrapes] == [sent] * 8
    finally:
        api.process.send_signal(signal.SIGTERM)
        assert await api.wait(timeout=30) == 0, api.output()


def _gauges(exposition: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def _eight_scrapes_in_a_row_after_start(
    client: httpx.AsyncClient,
) -> list[dict[str, list[tuple[dict[str, str], float]]]]:
    deadline = asyncio.get_running_loop().time() + 60
    scrapes: list[dict[str, list[tuple[dict[str, str], float]]]] = []
    while len(scrapes) < 8:
        assert asyncio.get_running_loop().time() < deadline, "no worker served the campaign"
        scrape = _gauges((await client.get("/metrics", headers={"Connection": "close"})).text)
        if "promotion_campaign_slots_total" in scrape:
            scrapes.append(scrape)
        else:  # a worker still starting answered: begin the row again
            scrapes.clear()
            await asyncio.sleep(0.2)
    return scrapes


async def test_with_two_workers_every_scrape_has_the_fill_the_build_and_the_newest_jwks_fetch(
    settings: Settings, jwks: JwksServer, tmp_path: Path
) -> None:
    """Whichever worker answers: the campaign read at scrape time, one build series, and the
    JWKS fetch time of the worker that fetched last (`max` across the workers' files).

    A worker still preparing the database serves its counters without the campaign (the
    instance answers `/readyz` as soon as one worker is ready), so the scrapes checked are
    eight in a row once the campaign is in one."""
    port = _free_port()
    metrics = tmp_path / "metrics"
    api = start_api(settings, tmp_path, jwks, port, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(base, api)  # /readyz checks the JWKS: the answering worker fetched
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            scrapes = await _eight_scrapes_in_a_row_after_start(client)
    finally:
        api.process.send_signal(signal.SIGTERM)
        assert await api.wait(timeout=30) == 0, api.output()

    for scrape in scrapes:
        assert scrape["promotion_campaign_slots_total"] == [({"campaign": "first-login"}, 100)]
        assert scrape["promotion_campaign_slots_claimed"] == [({"campaign": "first-login"}, 0)]
        assert [labels for labels, _ in scrape["promotion_build_info"]] == [
            {"version": __version__}
        ]
        [(labels, fetched)] = scrape["promotion_jwks_keys_fetched_timestamp_seconds"]
        assert labels == {}
        assert fetched > 1.7e9, "a worker that never fetched (0) must not hide one that did"
