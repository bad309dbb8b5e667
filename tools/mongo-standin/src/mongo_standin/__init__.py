"""A MongoDB wire-protocol server for local runs and tests, backed by SQLite.

It stands in for MongoDB where none can be installed. It is adapted in one way
(see :mod:`mongo_standin.server`): a request refused because another session's
transaction is open is dispatched again until that transaction ends, the way a
MongoDB server makes other sessions wait instead of failing them.
"""

from mongo_standin.server import BUSY_MESSAGE, WaitingProxyServer, is_busy_refusal

__all__ = ["BUSY_MESSAGE", "WaitingProxyServer", "is_busy_refusal"]
