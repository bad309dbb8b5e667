"""`python -m login_service.outbox.resend --since TIME`: publish again the first-login events
the broker confirmed at or after TIME (ISO 8601, with its offset).

For a promotion database restored to an earlier point: it lost the grants of events it had
already handled, and the login outbox still holds those events (sent entries are kept
`LOGIN_OUTBOX_SENT_RETENTION_DAYS`). They are made pending again, due now; the running relays
publish them, and consumers handle each event once (an event the restored database already
recorded is acknowledged as a duplicate). `--dry-run` only counts them. Settings as the
service's (MONGODB_URI, LOGIN_MONGODB_DATABASE).
"""

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection

from login_service.config import get_settings
from login_service.db import Document, create_client


def _since(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset (e.g. ...T10:00:00Z)")
    return moment.astimezone(UTC)


async def resend(outbox: AsyncCollection[Document], since: datetime, *, dry_run: bool) -> int:
    """How many sent events from `since` on were (or, dry, would be) made pending again."""
    selected = {"status": "sent", "sent_at": {"$gte": since}}
    if dry_run:
        return await outbox.count_documents(selected)
    result = await outbox.update_many(
        selected,
        {
            "$set": {"status": "pending", "next_attempt_at": datetime.now(UTC)},
            "$unset": {"sent_at": ""},
        },
    )
    return result.modified_count


async def _run(since: datetime, *, dry_run: bool) -> int:
    settings = get_settings()
    client = create_client(settings)
    try:
        return await resend(client[settings.mongodb_database]["outbox"], since, dry_run=dry_run)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m login_service.outbox.resend", description=__doc__
    )
    parser.add_argument("--since", type=_since, required=True, help="ISO 8601, with offset")
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)
    count = asyncio.run(_run(args.since, dry_run=args.dry_run))
    verb = "would be" if args.dry_run else "are"
    print(f"{count} event(s) sent since {args.since.isoformat()} {verb} pending again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
