"""One account shape for both seeding paths: the stand-in engine's probe and the driver."""

import asyncio
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from benchmarks import mongo_target, seeding

PROBE = Path(seeding.__file__).parent / "probes" / "standin_seed.py"
# What the login service writes at registration.
REGISTRATION_FIELDS = {
    "_id",
    "username",
    "username_key",
    "email",
    "email_key",
    "phone",
    "full_name",
    "birthday",
    "password_hash",
    "created_at",
}


class EngineAccounts:
    """The stand-in engine's collection, recording what it is given."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> None:
        self.batches.append(docs)

    def count_documents(self, query: dict[str, Any]) -> int:
        return sum(len(batch) for batch in self.batches)


class DriverAccounts(EngineAccounts):
    """The driver's collection: the same, awaited."""

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> None:  # type: ignore[override]
        self.batches.append(docs)

    async def count_documents(self, query: dict[str, Any]) -> int:  # type: ignore[override]
        return sum(len(batch) for batch in self.batches)


class Client:
    def __init__(self, accounts: EngineAccounts) -> None:
        self.accounts = accounts

    def __getitem__(self, database: str) -> dict[str, EngineAccounts]:
        return {"accounts": self.accounts}

    def close(self) -> None:
        pass

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


def _shape(batches: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The documents without what differs between two seedings (ids, time of seeding)."""
    keep = REGISTRATION_FIELDS - {"_id", "created_at"}
    return [{key: doc[key] for key in keep} for batch in batches for doc in batch]


def test_the_probe_and_the_driver_seed_one_shape(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = EngineAccounts()
    fake = types.ModuleType("mongoeco")
    fake.MongoClient = lambda engine: Client(recorded)  # type: ignore[attr-defined]
    sqlite = types.ModuleType("mongoeco.engines.sqlite")
    sqlite.SQLiteEngine = str  # type: ignore[attr-defined]
    for name, module in [("mongoeco", fake), ("mongoeco.engines", fake), (sqlite.__name__, sqlite)]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("standin_seed", PROBE)
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    assert probe.account_batches is seeding.account_batches

    args = ["--path=x", "--database=login", "--start=3", "--count=5", "--hash=h", "--batch=2"]
    probe.main(args)
    assert json.loads(capsys.readouterr().out) == {"accounts_total": 5}
    assert [len(batch) for batch in recorded.batches] == [2, 2, 1]
    docs = [doc for batch in recorded.batches for doc in batch]
    assert all(set(doc) == REGISTRATION_FIELDS for doc in docs)
    assert [doc["username_key"] for doc in docs] == [f"seed000000{i}" for i in range(3, 8)]
    assert {doc["password_hash"] for doc in docs} == {"h"}

    driver = DriverAccounts()
    driver.batches.append([{}, {}, {}])  # accounts 0..2, seeded before
    monkeypatch.setattr(mongo_target, "connect", lambda uri: Client(driver))
    stack = types.SimpleNamespace(
        external_mongodb_uri="mongodb://db", mongodb_uri="mongodb://db", login_database="login"
    )
    asyncio.run(seeding.seed(stack, Path("unused"), 3, 5, "h", 2))  # type: ignore[arg-type]
    assert _shape(driver.batches[1:]) == _shape(recorded.batches)
