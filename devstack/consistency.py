"""`python -m devstack.consistency`: does the promotion's data agree with the login's?

Read-only. After a restore (or at any time) it reports every disagreement between the two
services' databases, one line each, and exits 1 if there is any (0 if none, 2 if it could not
read them):

- `order_without_voucher`: an account whose first-login order is within the campaign's slots
  holds no voucher of that slot, and its event is no longer pending in the login outbox;
- `voucher_without_order`: a voucher's slot is not its owner's first-login order;
- `slots_not_held`: the campaign's `slots_claimed` differs from its vouchers;
- `counter_behind`: the first-login counter is below the highest order given;
- `outbox_pending_too_long`: an event pending for longer than `--pending-seconds`.

MONGODB_URI names the server, as for the services, or MONGODB_URI_FILE a file holding it (a
mounted secret); `--promotion-uri` when the promotion's database is on another. The databases
are `login` and `promotion` unless LOGIN_MONGODB_DATABASE / PROMOTION_MONGODB_DATABASE say
otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

type Document = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: dict[str, Any]

    def line(self) -> str:
        return json.dumps({"finding": self.kind, **self.detail}, default=str, sort_keys=True)


def _orders(login: Database[Document], slots: int) -> dict[int, str]:
    """First-login order -> account id, for the orders within the campaign's slots."""
    cursor = login["accounts"].find(
        {"first_login_order": {"$lte": slots}}, {"first_login_order": 1}
    )
    return {int(account["first_login_order"]): str(account["_id"]) for account in cursor}


def _pending_accounts(login: Database[Document]) -> set[str]:
    cursor = login["outbox"].find({"status": "pending"}, {"body.account_id": 1})
    return {str(entry["body"]["account_id"]) for entry in cursor}


def voucher_findings(
    login: Database[Document], promotion: Database[Document], campaign_id: str
) -> list[Finding]:
    campaign = promotion["campaigns"].find_one({"_id": campaign_id})
    if campaign is None:
        return [Finding("campaign_missing", {"campaign_id": campaign_id})]
    vouchers = list(promotion["vouchers"].find({"campaign_id": campaign_id}))
    findings = []
    if int(campaign["slots_claimed"]) != len(vouchers):
        counts = {"slots_claimed": campaign["slots_claimed"], "vouchers": len(vouchers)}
        findings.append(Finding("slots_not_held", {"campaign_id": campaign_id, **counts}))
    orders = _orders(login, int(campaign["slots_total"]))
    held = {int(voucher["slot"]): str(voucher["account_id"]) for voucher in vouchers}
    pending = _pending_accounts(login)
    for order, account in sorted(orders.items()):
        if held.get(order) != account and account not in pending:
            findings.append(Finding("order_without_voucher", {"order": order, "account": account}))
    for slot, account in sorted(held.items()):
        if orders.get(slot) != account:
            detail = {"slot": slot, "account": account, "order_held_by": orders.get(slot)}
            findings.append(Finding("voucher_without_order", detail))
    return findings


def login_findings(login: Database[Document], pending_seconds: float) -> list[Finding]:
    findings = []
    highest = login["accounts"].find_one(
        {"first_login_order": {"$exists": True}}, sort=[("first_login_order", -1)]
    )
    counter = login["counters"].find_one({"_id": "first_login_order"}) or {"value": 0}
    if highest is not None and int(counter["value"]) < int(highest["first_login_order"]):
        detail = {"counter": counter["value"], "highest_order": highest["first_login_order"]}
        findings.append(Finding("counter_behind", detail))
    cutoff = datetime.now(UTC) - timedelta(seconds=pending_seconds)
    stale = login["outbox"].find({"status": "pending", "created_at": {"$lt": cutoff}})
    for entry in stale:
        detail = {"event_id": entry["_id"], "created_at": entry["created_at"]}
        findings.append(Finding("outbox_pending_too_long", detail))
    return findings


def _uri_from_file(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as error:
        raise SystemExit(
            f"consistency: MONGODB_URI_FILE cannot be read ({error.strerror})"
        ) from None


def _database(uri: str | None, name: str) -> Database[Document]:
    if not uri:
        raise SystemExit(
            "consistency: set MONGODB_URI or MONGODB_URI_FILE (the services' database server)"
        )
    client: MongoClient[Document] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    return client[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.consistency", description=__doc__)
    parser.add_argument(
        "--campaign", default=os.environ.get("PROMOTION_CAMPAIGN_ID", "first-login")
    )
    parser.add_argument(
        "--pending-seconds", type=float, default=300.0, help="outbox age that is too long"
    )
    parser.add_argument("--promotion-uri", help="the promotion's server, if not MONGODB_URI's")
    args = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI") or _uri_from_file(os.environ.get("MONGODB_URI_FILE"))
    login = _database(uri, os.environ.get("LOGIN_MONGODB_DATABASE", "login"))
    promotion = _database(
        args.promotion_uri or uri, os.environ.get("PROMOTION_MONGODB_DATABASE", "promotion")
    )
    try:
        findings = [
            *login_findings(login, args.pending_seconds),
            *voucher_findings(login, promotion, args.campaign),
        ]
    except PyMongoError as error:
        print(f"consistency: cannot read the databases ({type(error).__name__})", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding.line())
    print(f"consistency: {len(findings)} disagreement(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
