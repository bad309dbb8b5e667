"""`python -m devstack.consistency` on a database server with deliberately broken data: each
kind of disagreement between the login's and the promotion's data is reported, and agreeing
data is not."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from tests.mongodb_server import mongodb_server

SLOTS = 3


@pytest.fixture(scope="module")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongodb_server(tmp_path_factory.mktemp("consistency")) as uri:
        yield uri


def _seed(uri: str, login: str, promotion: str, *, broken: bool) -> None:
    now = datetime.now(UTC)
    client: MongoClient[dict[str, Any]] = MongoClient(uri, tz_aware=True)
    with client:
        accounts: list[dict[str, Any]] = [
            {"_id": f"acct-{order}", "first_login_order": order, "first_login_at": now}
            for order in range(1, 5)
        ]
        client[login]["accounts"].insert_many(accounts)
        client[login]["counters"].insert_one(
            {"_id": "first_login_order", "value": 2 if broken else 4}
        )
        vouchers: list[dict[str, Any]] = [
            {"_id": f"v-{slot}", "campaign_id": "first-login", "account_id": f"acct-{slot}",
             "slot": slot}
            for slot in range(1, SLOTS + 1)
        ]  # fmt: skip
        if broken:
            vouchers[1] = {**vouchers[1], "account_id": "acct-4"}  # slot 2 held by order 4
            del vouchers[2]  # order 3's voucher is missing
            client[login]["outbox"].insert_one(
                {"_id": "evt-stuck", "status": "pending", "created_at": now - timedelta(hours=1),
                 "body": {"account_id": "acct-9"}}
            )  # fmt: skip
        client[promotion]["vouchers"].insert_many(vouchers)
        client[promotion]["campaigns"].insert_one(
            {"_id": "first-login", "slots_total": SLOTS, "slots_claimed": SLOTS}
        )


def _check(
    repo_root: Path, uri: str, *, broken: bool, uri_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    login, promotion = f"login_{uuid.uuid4().hex[:8]}", f"promotion_{uuid.uuid4().hex[:8]}"
    _seed(uri, login, promotion, broken=broken)
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    if uri_file is None:
        env["MONGODB_URI"] = uri
    else:
        uri_file.write_text(uri + "\n")
        env["MONGODB_URI_FILE"] = str(uri_file)
    env["LOGIN_MONGODB_DATABASE"] = login
    env["PROMOTION_MONGODB_DATABASE"] = promotion
    try:
        return subprocess.run(
            [sys.executable, "-m", "devstack.consistency"],
            cwd=repo_root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        cleaner: MongoClient[dict[str, Any]] = MongoClient(uri)
        with cleaner:
            cleaner.drop_database(login)
            cleaner.drop_database(promotion)


def test_each_kind_of_disagreement_is_reported_and_the_exit_status_says_so(
    repo_root: Path, mongodb_uri: str
) -> None:
    done = _check(repo_root, mongodb_uri, broken=True)
    assert done.returncode == 1, done.stderr
    findings: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = sorted(finding["finding"] for finding in findings)
    assert kinds == [
        "counter_behind",
        "order_without_voucher",
        "order_without_voucher",
        "outbox_pending_too_long",
        "slots_not_held",
        "voucher_without_order",
    ], findings
    missing = {f["order"] for f in findings if f["finding"] == "order_without_voucher"}
    assert missing == {2, 3}
    (misheld,) = [f for f in findings if f["finding"] == "voucher_without_order"]
    assert (misheld["slot"], misheld["account"], misheld["order_held_by"]) == (
        2,
        "acct-4",
        "acct-2",
    )


def test_agreeing_data_reports_nothing(repo_root: Path, mongodb_uri: str) -> None:
    done = _check(repo_root, mongodb_uri, broken=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_the_server_may_be_named_by_a_secret_file(
    repo_root: Path, mongodb_uri: str, tmp_path: Path
) -> None:
    done = _check(repo_root, mongodb_uri, broken=True, uri_file=tmp_path / "mongodb_uri")
    assert done.returncode == 1, done.stderr
    assert "slots_not_held" in done.stdout
