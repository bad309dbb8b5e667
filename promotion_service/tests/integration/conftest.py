from collections.abc import Callable
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from promotion_service.consumer import runner
from promotion_service.consumer.handler import ClaimFunction
from promotion_service.db import Database, Document, prepare_database
from promotion_service.vouchers.grant import VoucherGrant, build_grant

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def db(mongo_client: AsyncMongoClient[dict[str, object]], settings: Settings) -> Database:
    """The test's database, with indexes and the configured campaign."""
    database: Database = mongo_client[settings.mongodb_database]
    await prepare_database(database, settings)
    return database


@pytest.fixture
def consumers_claim_with(monkeypatch: pytest.MonkeyPatch) -> Callable[[ClaimFunction], None]:
    """Give the consumers this test starts in its own process a stand-in claim; their fast
    path stays the real one. Each consumer builds its grant with ``runner.build_grant``."""

    def install(claim: ClaimFunction) -> None:
        def grant_claiming_with(
            mongo: AsyncMongoClient[Document], db: Database, settings: Settings
        ) -> VoucherGrant:
            grant = build_grant(mongo, db, settings)
            monkeypatch.setattr(grant, "claim", claim)
            return grant

        monkeypatch.setattr(runner, "build_grant", grant_claiming_with)

    return install
