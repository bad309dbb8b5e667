"""`python -m tests.integration.crashing_consumer`: the real consumer, except that handling
the account named by TEST_CRASH_ON_ACCOUNT kills the process (SIGKILL to itself), as a
message that crashes its consumer would. A fault injected by the tests only."""

import os
import signal
import sys

from promotion_service.consumer import __main__ as consumer_main
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.vouchers.grant import GrantResult, VoucherGrant

CRASH_ON_ACCOUNT = os.environ["TEST_CRASH_ON_ACCOUNT"]
real_claim = VoucherGrant.claim


async def crashing_claim(grant: VoucherGrant, event: FirstLoginEvent) -> GrantResult:
    if event.account_id == CRASH_ON_ACCOUNT:
        os.kill(os.getpid(), signal.SIGKILL)
    return await real_claim(grant, event)


VoucherGrant.claim = crashing_claim  # type: ignore[method-assign,assignment]
sys.exit(consumer_main.main())
