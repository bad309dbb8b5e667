"""`python -m login_service.outbox.resend`: events sent from a given time on are published
again (for a promotion database restored to an earlier point); nothing else moves."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.outbox.resend import resend

pytestmark = pytest.mark.integration

RESTORED_TO = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


async def test_events_sent_since_the_restore_point_are_pending_again_and_no_others(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    outbox = mongo[database_name]["outbox"]
    await outbox.insert_many(
        [
            {"_id": "before", "status": "sent", "sent_at": RESTORED_TO - timedelta(minutes=1)},
            {"_id": "at", "status": "sent", "sent_at": RESTORED_TO},
            {"_id": "after", "status": "sent", "sent_at": RESTORED_TO + timedelta(hours=2)},
            {"_id": "waiting", "status": "pending", "next_attempt_at": RESTORED_TO},
        ]
    )
    assert await resend(outbox, RESTORED_TO, dry_run=True) == 2
    assert await outbox.count_documents({"status": "sent"}) == 3  # a dry run changes nothing

    assert await resend(outbox, RESTORED_TO, dry_run=False) == 2
    states = {doc["_id"]: doc async for doc in outbox.find()}
    assert {key: doc["status"] for key, doc in states.items()} == {
        "before": "sent",
        "at": "pending",
        "after": "pending",
        "waiting": "pending",
    }
    for key in ("at", "after"):  # due now for the relays, no longer a sent entry to expire
        assert "sent_at" not in states[key]
        assert states[key]["next_attempt_at"] > RESTORED_TO
    assert states["waiting"]["next_attempt_at"] == RESTORED_TO


def test_a_time_without_its_offset_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "login_service.outbox.resend", "--since", "2026-12-07T10:00:00"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "offset" in done.stderr
