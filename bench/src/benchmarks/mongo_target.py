"""The database a run talks to: its own stand-in, or a MongoDB server named by ``MONGODB_URI``
(whose databases the run names after itself and drops at the end)."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pymongo import AsyncMongoClient


@dataclass(frozen=True, slots=True)
class ServerDescription:
    kind: str  # "stand-in" or "MongoDB"
    address: str  # host:port, never the credentials
    version: str  # buildInfo's version
    replica_set: str | None

    def label(self) -> str:
        if self.kind == "stand-in":
            return f"the run's own MongoDB wire stand-in (mongoeco, reporting {self.version})"
        replica = f", replica set `{self.replica_set}`" if self.replica_set else ""
        return f"MongoDB {self.version} at `{self.address}`{replica}"


def connect(uri: str) -> AsyncMongoClient[dict[str, Any]]:
    """A client for one block (``async with connect(uri) as client:`` closes it)."""
    return AsyncMongoClient(uri, tz_aware=True)


def address_of(uri: str) -> str:
    """host:port of a mongodb:// URI, without user or password."""
    return urlsplit(uri).netloc.rsplit("@", 1)[-1]


async def describe_server(uri: str, kind: str) -> ServerDescription:
    async with connect(uri) as client:
        build = await client.admin.command("buildInfo")
        hello = await client.admin.command("hello")
    return ServerDescription(kind, address_of(uri), str(build["version"]), hello.get("setName"))


async def drop_databases(uri: str, names: list[str]) -> None:
    async with connect(uri) as client:
        for name in names:
            await client.drop_database(name)
