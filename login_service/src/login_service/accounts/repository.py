"""Account persistence. Unique indexes (see ``db.py``) are the arbiters of uniqueness."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from login_service.accounts.normalize import IdentifierKind
from login_service.db import ACCOUNT_UNIQUE_KEYS, Document
from login_service.errors import AccountConflict, AccountField

_KEY_FIELD: dict[IdentifierKind, str] = {
    "username": "username_key",
    "email": "email_key",
    "phone": "phone",
}


@dataclass(frozen=True, slots=True)
class Account:
    """An account as stored, hash included: never returned to a client as is."""

    id: str
    username: str
    email: str
    phone: str
    password_hash: str = field(repr=False)
    created_at: datetime
    full_name: str | None = None
    birthday: date | None = None
    first_login_at: datetime | None = None
    first_login_order: int | None = None

    @classmethod
    def from_document(cls, doc: Document) -> "Account":
        birthday = doc.get("birthday")
        return cls(
            id=doc["_id"],
            username=doc["username"],
            email=doc["email"],
            phone=doc["phone"],
            password_hash=doc["password_hash"],
            created_at=doc["created_at"],
            full_name=doc.get("full_name"),
            birthday=date.fromisoformat(birthday) if birthday else None,
            first_login_at=doc.get("first_login_at"),
            first_login_order=doc.get("first_login_order"),
        )


def conflicting_field(error: DuplicateKeyError) -> AccountField:
    """Name the taken field from the violated index's key pattern.

    ``keyValue`` is not used: on collation indexes it can be an internal form.
    """
    details = error.details or {}
    pattern = cast(dict[str, Any], details.get("keyPattern") or {})
    for key in pattern:
        if key in ACCOUNT_UNIQUE_KEYS:
            return cast(AccountField, ACCOUNT_UNIQUE_KEYS[key])
    message = str(details.get("errmsg", error))
    for key, name in ACCOUNT_UNIQUE_KEYS.items():
        if f"{key}_unique" in message:
            return cast(AccountField, name)
    raise error


class AccountRepository:
    """Reads and single-document writes of accounts."""

    def __init__(self, accounts: AsyncCollection[Document]) -> None:
        self._accounts = accounts

    async def insert(self, document: Document) -> None:
        """Insert a new account; raises ``AccountConflict`` naming the taken field."""
        try:
            await self._accounts.insert_one(document)
        except DuplicateKeyError as exc:
            raise AccountConflict(conflicting_field(exc)) from None

    async def find_by_identifier(self, kind: IdentifierKind, key: str) -> Account | None:
        doc = await self._accounts.find_one({_KEY_FIELD[kind]: key})
        return Account.from_document(doc) if doc else None

    async def get(self, account_id: str) -> Account | None:
        doc = await self._accounts.find_one({"_id": account_id})
        return Account.from_document(doc) if doc else None

    async def replace_password_hash(self, account_id: str, old_hash: str, new_hash: str) -> None:
        """Swap the hash only if it is still the one verified (a concurrent change wins)."""
        await self._accounts.update_one(
            {"_id": account_id, "password_hash": old_hash},
            {"$set": {"password_hash": new_hash}},
        )

    async def touch_last_login(self, account_id: str, now: datetime) -> None:
        await self._accounts.update_one({"_id": account_id}, {"$max": {"last_login_at": now}})
