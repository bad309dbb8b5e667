"""One trace from a login request to the voucher's grant, exported over OTLP/HTTP.

A local stack of this module's own runs with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a
receiver of the test's own; a first login goes through it, and the spans the processes
export are read back as a collector would get them.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import log_in, register, wait_for_voucher
from tests.e2e.harness import LocalStack, StackUrls, serve
from tests.e2e.otlp_receiver import OtlpReceiver, ReceivedSpan

EXPORT_WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver().running() as running:
        yield running


@pytest.fixture(scope="module")
def traced_stack(
    tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver
) -> Iterator[tuple[StackUrls, LocalStack]]:
    local = LocalStack(
        Path(tmp_path_factory.mktemp("traced-stack")),
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within the test's patience
        },
    )
    for urls in serve(local):
        yield urls, local


def _collection(span: ReceivedSpan) -> object:
    return span.attributes.get("db.collection.name") or span.attributes.get("db.mongodb.collection")


def _login_span(spans: list[ReceivedSpan]) -> ReceivedSpan | None:
    return next(
        (
            s
            for s in spans
            if s.service == "login-api"
            and s.kind == "SPAN_KIND_SERVER"
            and s.attributes.get("http.route") == "/v1/auth/login"
        ),
        None,
    )


def _chain_complete(trace: list[ReceivedSpan]) -> bool:
    return any(
        s.service == "promotion-consumer" and s.name.endswith(".commitTransaction") for s in trace
    )


def _trace_of_the_login(receiver: OtlpReceiver, stack: LocalStack) -> list[ReceivedSpan]:
    deadline = time.monotonic() + EXPORT_WAIT_SECONDS
    while True:
        spans = receiver.snapshot()
        login = _login_span(spans)
        trace = [s for s in spans if login and s.trace_id == login.trace_id]
        if _chain_complete(trace) or time.monotonic() > deadline:
            assert login is not None, f"no login span exported:\n{stack.log_tail()}"
            return trace
        time.sleep(0.2)


def test_one_trace_runs_from_the_login_request_to_the_grant_transaction(
    http: httpx.Client,
    traced_stack: tuple[StackUrls, LocalStack],
    receiver: OtlpReceiver,
) -> None:
    urls, local = traced_stack
    session = log_in(http, urls, register(http, urls))
    wait_for_voucher(http, urls, session)

    trace = _trace_of_the_login(receiver, local)
    by_id = {span.span_id: span for span in trace}
    names = sorted((span.service, span.kind, span.name) for span in trace)

    # The login request, its first-login transaction, the relay's publish, the consumer's
    # handling and the grant's transaction: one trace, every process under its own name.
    [root] = [span for span in trace if not span.parent_span_id]
    assert root.service == "login-api"
    assert root.attributes.get("http.route") == "/v1/auth/login"
    assert {span.service for span in trace} == {"login-api", "promotion-consumer"}, names
    login_commit = [
        s for s in trace if s.service == "login-api" and s.name.endswith(".commitTransaction")
    ]
    assert login_commit, names
    [relay] = [s for s in trace if s.name == "outbox publish"]
    assert relay.service == "login-api"
    assert by_id[relay.parent_span_id] is root  # its parent: the stored traceparent
    [send] = [s for s in trace if s.kind == "SPAN_KIND_PRODUCER" and s.service == "login-api"]
    assert by_id[send.parent_span_id] is relay
    assert any(_collection(s) == "outbox" and s.parent_span_id == relay.span_id for s in trace)
    [consume] = [s for s in trace if s.kind == "SPAN_KIND_CONSUMER"]
    assert consume.service == "promotion-consumer"
    assert by_id[consume.parent_span_id] is send  # continued from the message's headers
    grant = [s for s in trace if s.service == "promotion-consumer" and s.kind == "SPAN_KIND_CLIENT"]
    assert any(_collection(s) == "vouchers" for s in grant), names
    assert any(s.name.endswith(".commitTransaction") for s in grant), names
    assert all(s.parent_span_id == consume.span_id for s in grant)

    # One tree: every parent is in the trace, so every span reaches the one root.
    assert all(span.parent_span_id in by_id for span in trace if span is not root)


def test_database_commands_outside_a_trace_start_none(
    http: httpx.Client,
    traced_stack: tuple[StackUrls, LocalStack],
    receiver: OtlpReceiver,
) -> None:
    urls, _ = traced_stack
    # Readiness pings MongoDB; the relays poll the outbox every second meanwhile.
    for _ in range(3):
        assert http.get(f"{urls.login}/readyz").status_code == 200
        assert http.get(f"{urls.promotion}/readyz").status_code == 200
    time.sleep(2.0)

    spans = receiver.snapshot()
    assert spans, "nothing exported at all"
    lone_commands = [s for s in spans if s.kind == "SPAN_KIND_CLIENT" and not s.parent_span_id]
    assert lone_commands == []
    assert not [s for s in spans if s.attributes.get("http.route") == "/readyz"]
    assert receiver.refused == []


def test_the_consumers_log_line_names_the_trace_of_the_login(
    http: httpx.Client,
    traced_stack: tuple[StackUrls, LocalStack],
    receiver: OtlpReceiver,
) -> None:
    urls, local = traced_stack
    session = log_in(http, urls, register(http, urls))
    wait_for_voucher(http, urls, session)

    deadline = time.monotonic() + EXPORT_WAIT_SECONDS
    handled: list[str] = []
    while not handled and time.monotonic() < deadline:
        logins = {
            s.trace_id
            for s in receiver.snapshot()
            if s.kind == "SPAN_KIND_SERVER" and s.attributes.get("http.route") == "/v1/auth/login"
        }
        lines = local.log_path.read_text(errors="replace").splitlines()
        handled = [
            line
            for line in lines
            if "consumer-" in line.split("|")[0]
            and "event_handled" in line
            and any(f"trace_id={trace_id}" in line for trace_id in logins)
        ]
        time.sleep(0.2)
    assert handled, local.log_tail()
