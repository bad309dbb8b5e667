from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from promotion_service.db import Database, prepare_database

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
