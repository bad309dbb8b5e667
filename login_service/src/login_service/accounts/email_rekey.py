"""Start-up migration: re-key stored accounts whose email key the current rule changes.

Keys were once the whole address case-folded, which folded internationalised domains
as text (``a@faß.de`` keyed as ``a@fass.de``). The key now keeps the domain as its
IDNA A-label. Only an account whose stored address has a non-ASCII domain can change
(an ASCII domain lower-cases and case-folds alike), so the scan reads those only.

The scan is a ``$regex`` no index serves, so it runs until it has succeeded once: a
document in ``migrations`` records that, and later starts only read that document.
Workers starting together before then may all scan; the re-key is idempotent (each
update is conditional on the key it read), so they agree, and the marker is written
with ``$setOnInsert``, so the first success is the one recorded.
"""

from dataclasses import dataclass

import structlog
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from login_service.accounts.normalize import normalize_email
from login_service.clock import utc_now_ms
from login_service.db import Document

log = structlog.get_logger("login_service.migrations")

MIGRATION_ID = "email-key-idna-a-label"
# A non-ASCII character after the "@": the only addresses whose key can change.
_NON_ASCII_DOMAIN = r"@[^@]*[^\x00-\x7F]"


@dataclass(frozen=True, slots=True)
class RekeyOutcome:
    changed: int
    conflicts: int  # accounts left on their old key: another account holds the new one


async def rekey_email_accounts_once(
    accounts: AsyncCollection[Document], migrations: AsyncCollection[Document]
) -> None:
    """Re-key the accounts unless a previous start finished it; record it when finished.

    A conflict leaves the migration unfinished (the next start tries again) and is
    logged as an error naming the operator's action (docs/operations.md).
    """
    if await migrations.find_one({"_id": MIGRATION_ID}, {"_id": 1}) is not None:
        return
    outcome = await rekey_email_accounts(accounts)
    if outcome.conflicts:
        log.error(
            "migration_unfinished",
            migration=MIGRATION_ID,
            conflicts=outcome.conflicts,
            action="resolve the accounts logged as email_rekey_conflict, then restart "
            "(docs/operations.md#email-key-migration)",
        )
        return
    await migrations.update_one(
        {"_id": MIGRATION_ID},
        {"$setOnInsert": {"done_at": utc_now_ms(), "accounts_rekeyed": outcome.changed}},
        upsert=True,
    )


async def rekey_email_accounts(accounts: AsyncCollection[Document]) -> RekeyOutcome:
    """Bring every stored email key to the current rule (idempotent)."""
    changed = conflicts = 0
    cursor = accounts.find({"email": {"$regex": _NON_ASCII_DOMAIN}}, {"email": 1, "email_key": 1})
    async for doc in cursor:
        try:
            key = normalize_email(doc["email"])[1]
        except ValueError:
            log.warning("email_rekey_skipped", account_id=doc["_id"], reason="unparseable email")
            continue
        if key == doc["email_key"]:
            continue
        try:
            # Conditional on the key read, so a concurrent worker's identical update wins once.
            result = await accounts.update_one(
                {"_id": doc["_id"], "email_key": doc["email_key"]}, {"$set": {"email_key": key}}
            )
        except DuplicateKeyError:
            log.error("email_rekey_conflict", account_id=doc["_id"])
            conflicts += 1
            continue
        changed += result.modified_count
    if changed:
        log.info("email_rekey_done", accounts=changed)
    return RekeyOutcome(changed=changed, conflicts=conflicts)
