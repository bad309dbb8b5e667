"""`python -m tests.integration.crashing_consumer`: the real consumer, except that handling
the account named by TEST_CRASH_ON_ACCOUNT kills the process (SIGKILL to itself), as a
message that crashes its consumer would. A fault injected by the tests only."""

import os
import signal
import sys

from pymongo import AsyncMongoClient

from promotion_service.consumer import __main__ as consumer_main
from promotion_service.consumer import runner
from promotion_service.consumer.claim import ClaimPolicy, ClaimResult, claim_first_login_voucher
from promotion_service.db import Database, Document
from promotion_service.events.first_login import FirstLoginEvent

CRASH_ON_ACCOUNT = os.environ["TEST_CRASH_ON_ACCOUNT"]
real_claim = claim_first_login_voucher


async def crashing_claim(
    client: AsyncMongoClient[Document], db: Database, event: FirstLoginEvent, policy: ClaimPolicy
) -> ClaimResult:
    if event.account_id == CRASH_ON_ACCOUNT:
        os.kill(os.getpid(), signal.SIGKILL)
    return await real_claim(client, db, event, policy)


# The runner calls the name it imported into its own namespace, so that is the one to replace.
runner.claim_first_login_voucher = crashing_claim  # type: ignore[attr-defined]
sys.exit(consumer_main.main())
