"""docs/data_schema.md names every collection and index the running services created."""

import re
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.database import Database

from tests.e2e.flows import log_in, register
from tests.e2e.harness import REPO_ROOT, StackUrls


def test_every_collection_and_index_in_the_databases_is_documented(
    http: httpx.Client, stack: StackUrls
) -> None:
    if stack.mongodb_uri is None:
        pytest.skip("set MONGODB_URI (the stack's database server) to compare its schema")
    log_in(http, stack, register(http, stack))  # a first login writes every collection
    text = (REPO_ROOT / "docs" / "data_schema.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([\w.]+)`", text))
    found: set[str] = set()
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(stack.mongodb_uri, serverSelectionTimeoutMS=5000) as mongo:
        for _, name in stack.databases:
            database: Database[dict[str, Any]] = mongo[name]
            for collection in database.list_collection_names():
                found.add(collection)
                found.update(database[collection].index_information())
    found.discard("_id_")
    assert found, "the services created no collection"
    assert sorted(found - documented) == []
