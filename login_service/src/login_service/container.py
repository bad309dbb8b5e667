"""Everything a request needs, built once per app in the lifespan and kept on ``app.state``."""

from dataclasses import dataclass

from pymongo import AsyncMongoClient

from login_service.accounts.service import AccountService
from login_service.auth.keys import KeySet
from login_service.auth.service import LoginService
from login_service.auth.token_verifier import AccessTokenVerifier
from login_service.config import Settings
from login_service.db import Document
from login_service.guard.login_guard import LoginGuard
from login_service.metrics import ServiceMetrics
from login_service.outbox.publisher import EventPublisher
from login_service.outbox.relay import OutboxRelay


@dataclass(slots=True)
class Services:
    settings: Settings
    metrics: ServiceMetrics
    keys: KeySet
    access_tokens: AccessTokenVerifier
    mongo: AsyncMongoClient[Document]
    guard: LoginGuard
    accounts: AccountService
    login: LoginService
    publisher: EventPublisher
    relay: OutboxRelay
