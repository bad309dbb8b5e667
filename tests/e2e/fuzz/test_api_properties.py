"""Schemathesis, stateful, against both running APIs.

A Hypothesis state machine registers accounts, logs in, reads profiles, lists and redeems
vouchers with tokens the login service minted, with request data Schemathesis generates
from each API's own OpenAPI document (valid and invalid), and holds every response to that
document: no 5xx, a documented status code and content type, a body valid against the
documented schema, and problem+json on every error. One explicit scenario crosses both
services from registration to a redeemed voucher. Generation is derandomized (a fixed
seed per test), so a run is repeatable; `FUZZ_EXAMPLES` and `FUZZ_STEPS` scale it
(`make fuzz`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from schemathesis import GenerationMode

from tests.e2e.flows import PASSWORD, Session, wait_for_voucher
from tests.e2e.fuzz.api_checks import AnyCase, checked_call
from tests.e2e.fuzz.fuzz_stack import fuzz_stack_urls
from tests.e2e.harness import StackUrls

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STEPS = int(os.environ.get("FUZZ_STEPS", "12"))


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    yield from fuzz_stack_urls(Path(tmp_path_factory.mktemp("fuzz-stack")))


def _schemas(stack: StackUrls) -> tuple[schemathesis.BaseSchema, schemathesis.BaseSchema]:
    # Each API's own document, where it serves it (behind a shared proxy: under its prefix);
    # every call names its base URL itself.
    return (
        schemathesis.openapi.from_url(f"{stack.login_health}/openapi.json"),
        schemathesis.openapi.from_url(f"{stack.promotion_health}/openapi.json"),
    )


def _registration_body(tag: str) -> dict[str, Any]:
    return {
        "username": f"fz{tag}",
        "email": f"fz{tag}@example.com",
        "phone": f"+1 202 555 {secrets.randbelow(10_000):04d}",
        "password": PASSWORD,
    }


def test_one_customer_registers_logs_in_and_redeems_across_both_services(
    fuzz_stack: StackUrls,
) -> None:
    login, promotion = _schemas(fuzz_stack)
    tag = secrets.token_hex(5)
    register = login["/v1/accounts"]["POST"]
    response = checked_call(
        "scenario: register", register.Case(body=_registration_body(tag)), fuzz_stack.login
    )
    assert response.status_code == 201, response.text
    log_in = login["/v1/auth/login"]["POST"].Case(
        body={"identifier": f"FZ{tag}", "password": PASSWORD}
    )
    response = checked_call("scenario: log in", log_in, fuzz_stack.login)
    assert response.status_code == 200, response.text
    auth = {"Authorization": f"Bearer {response.json()['access_token']}"}
    profile = login["/v1/accounts/me"]["GET"].Case()
    me = checked_call("scenario: me", profile, fuzz_stack.login, auth)
    assert me.json()["first_login_at"] is not None

    session = Session(f"fz{tag}", response.json()["access_token"])
    with httpx.Client(timeout=30.0) as http:
        voucher = wait_for_voucher(http, fuzz_stack, session)
    listing = promotion["/v1/vouchers"]["GET"].Case()
    listed = checked_call("scenario: list vouchers", listing, fuzz_stack.promotion, auth)
    assert [v["id"] for v in listed.json()] == [voucher["id"]]
    redeem = promotion["/v1/vouchers/{voucher_id}/redeem"]["POST"]
    purchase: dict[str, Any] = {
        "amount": "120.00",
        "currency": "EUR",
        "purchase_id": f"order-{tag}",
    }
    first = checked_call(
        "scenario: redeem",
        redeem.Case(path_parameters={"voucher_id": voucher["id"]}, body=purchase),
        fuzz_stack.promotion,
        auth,
    )
    assert first.json()["discount_amount"] == "36.00", first.text
    again = checked_call(
        "scenario: redeem again",
        redeem.Case(path_parameters={"voucher_id": voucher["id"]}, body=purchase),
        fuzz_stack.promotion,
        auth,
    )
    assert again.json() == first.json()
    other = checked_call(
        "scenario: redeem for another purchase",
        redeem.Case(
            path_parameters={"voucher_id": voucher["id"]}, body={**purchase, "purchase_id": "x"}
        ),
        fuzz_stack.promotion,
        auth,
    )
    assert other.status_code == 409


def test_both_apis_hold_to_their_documents_under_a_stateful_fuzzer(fuzz_stack: StackUrls) -> None:
    login, promotion = _schemas(fuzz_stack)

    def cases(schema: schemathesis.BaseSchema, path: str, method: str) -> st.SearchStrategy[Any]:
        operation = schema[path][method]
        return st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

    class BothApis(RuleBasedStateMachine):
        # Bundles hold only what every replay produces again (Hypothesis replays a run to
        # shrink it): fresh accounts, and sessions of them. Vouchers arrive asynchronously,
        # so they are looked up inside a step, never kept in a bundle.
        accounts = Bundle("accounts")
        sessions = Bundle("sessions")

        @initialize(target=accounts)
        def a_valid_account(self) -> str:
            return self._register()

        def _register(self) -> str:
            for _ in range(5):  # a random phone number may be taken: 409, try another
                body: dict[str, Any] = _registration_body(secrets.token_hex(6))
                case = login["/v1/accounts"]["POST"].Case(body=body)
                response = checked_call("stateful: register (valid)", case, fuzz_stack.login)
                if response.status_code == 201:
                    return str(body["username"])
            raise AssertionError("five valid registrations in a row were refused")

        @rule(target=accounts)
        def register_valid(self) -> str:
            return self._register()

        @rule(case=cases(login, "/v1/accounts", "POST"))
        def register_anything(self, case: AnyCase) -> None:
            checked_call("stateful: register (generated)", case, fuzz_stack.login)

        @rule(target=sessions, username=accounts)
        def log_in(self, username: str) -> dict[str, str]:
            case = login["/v1/auth/login"]["POST"].Case(
                body={"identifier": username, "password": PASSWORD}
            )
            response = checked_call("stateful: log in (valid)", case, fuzz_stack.login)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        @rule(case=cases(login, "/v1/auth/login", "POST"))
        def log_in_anything(self, case: AnyCase) -> None:
            checked_call("stateful: log in (generated)", case, fuzz_stack.login)

        @rule(case=cases(login, "/v1/auth/token", "POST"))
        def token_form_anything(self, case: AnyCase) -> None:
            checked_call("stateful: token form (generated)", case, fuzz_stack.login)

        @rule(auth=sessions, case=cases(login, "/v1/accounts/me", "GET"))
        def me(self, auth: dict[str, str], case: AnyCase) -> None:
            checked_call("stateful: me", case, fuzz_stack.login, auth)

        @rule(case=cases(login, "/v1/accounts/me", "GET"))
        def me_with_any_credentials(self, case: AnyCase) -> None:
            checked_call("stateful: me (generated credentials)", case, fuzz_stack.login)

        @rule(auth=sessions, case=cases(promotion, "/v1/vouchers", "GET"))
        def list_vouchers(self, auth: dict[str, str], case: AnyCase) -> None:
            checked_call("stateful: list vouchers", case, fuzz_stack.promotion, auth)

        @rule(auth=sessions, case=cases(promotion, "/v1/vouchers/{voucher_id}/redeem", "POST"))
        def redeem_own_voucher(self, auth: dict[str, str], case: AnyCase) -> None:
            listing = promotion["/v1/vouchers"]["GET"].Case()
            listed = checked_call("stateful: list vouchers", listing, fuzz_stack.promotion, auth)
            for voucher in listed.json():
                case.path_parameters = {"voucher_id": voucher["id"]}
                checked_call("stateful: redeem own voucher", case, fuzz_stack.promotion, auth)

        @rule(auth=sessions, case=cases(promotion, "/v1/vouchers/{voucher_id}/redeem", "POST"))
        def redeem_anything(self, auth: dict[str, str], case: AnyCase) -> None:
            checked_call("stateful: redeem (generated)", case, fuzz_stack.promotion, auth)

        @rule(case=cases(promotion, "/v1/campaigns/{campaign_id}", "GET"))
        def campaign(self, case: AnyCase) -> None:
            checked_call("stateful: campaign", case, fuzz_stack.promotion)

    run_state_machine_as_test(
        BothApis,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
