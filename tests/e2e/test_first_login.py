"""The product requirement, end to end: a first login leads to a voucher, once."""

import time

import httpx

from tests.e2e.flows import campaign, log_in, me, register, vouchers, wait_for_voucher
from tests.e2e.harness import StackUrls


def test_first_login_produces_a_voucher_for_its_order_in_the_voucher_list(
    http: httpx.Client, stack: StackUrls
) -> None:
    before = campaign(http, stack)
    session = log_in(http, stack, register(http, stack))
    order = me(http, stack, session)["first_login_order"]
    assert isinstance(order, int)
    assert order >= 1

    if order > before["slots_total"]:  # a long-running stack whose campaign is full
        time.sleep(5)
        assert vouchers(http, stack, session) == []
        return
    voucher = wait_for_voucher(http, stack, session)
    assert voucher["slot"] == order
    assert voucher["discount_percent"] == 30
    assert voucher["status"] == "active"
    assert voucher["campaign_id"] == "first-login"


def test_campaign_counts_the_slot_a_first_login_claimed(
    http: httpx.Client, stack: StackUrls
) -> None:
    before = campaign(http, stack)
    session = log_in(http, stack, register(http, stack))
    if me(http, stack, session)["first_login_order"] <= before["slots_total"]:
        wait_for_voucher(http, stack, session)
    after = campaign(http, stack)

    assert after["id"] == "first-login"
    assert after["slots_total"] == 100
    assert after["slots_claimed"] <= after["slots_total"]
    if before["slots_claimed"] < before["slots_total"]:
        assert after["slots_claimed"] >= before["slots_claimed"] + 1
    if stack.owned:  # nobody else logs in to a stack this session started
        assert after["slots_claimed"] == before["slots_claimed"] + 1


def test_logging_in_again_keeps_the_order_and_grants_no_second_voucher(
    http: httpx.Client, stack: StackUrls
) -> None:
    username = register(http, stack)
    first = log_in(http, stack, username)
    profile = me(http, stack, first)
    if profile["first_login_order"] <= campaign(http, stack)["slots_total"]:
        wait_for_voucher(http, stack, first)

    second = log_in(http, stack, username)
    again = me(http, stack, second)
    assert again["first_login_order"] == profile["first_login_order"]
    assert again["first_login_at"] == profile["first_login_at"]
    time.sleep(2)  # room for a (wrong) second event to be consumed
    assert len(vouchers(http, stack, second)) <= 1
