"""Start-up migration: re-key stored accounts whose email key the current rule changes.

Keys were once the whole address case-folded, which folded internationalised domains
as text (``a@faß.de`` keyed as ``a@fass.de``). The key now keeps the domain as its
IDNA A-label. Only an account whose stored address has a non-ASCII domain can change
(an ASCII domain lower-cases and case-folds alike), so the scan reads those only.
Idempotent: an account already on the current key is left alone, so every worker may
run it at start-up, concurrently.
"""

import structlog
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from login_service.accounts.normalize import normalize_email
from login_service.db import Document

log = structlog.get_logger("login_service.migrations")

# A non-ASCII character after the "@": the only addresses whose key can change.
_NON_ASCII_DOMAIN = r"@[^@]*[^\x00-\x7F]"


async def rekey_email_accounts(accounts: AsyncCollection[Document]) -> int:
    """Bring every stored email key to the current rule; return how many changed."""
    changed = 0
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
            continue
        changed += result.modified_count
    if changed:
        log.info("email_rekey_done", accounts=changed)
    return changed
