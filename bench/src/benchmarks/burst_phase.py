"""The burst's set-up: fresh accounts on a database of their own, then ``run_burst``."""

from benchmarks.burst import BurstResult, run_burst
from benchmarks.plan import Plan
from benchmarks.progress import say
from benchmarks.seeding import seed
from benchmarks.stack import Stack

# Only with --raise-login-throttle: for a login service whose throttle still refuses a crowd
# of correct logins from one address. The published run uses the service's defaults.
RAISED_THROTTLE = {
    "LOGIN_THROTTLE_IDENTIFIER_MAX_FAILURES": "100000",
    "LOGIN_THROTTLE_CLIENT_MAX_FAILURES": "100000",
    "LOGIN_THROTTLE_ACCOUNT_TOTAL_MAX_FAILURES": "100000",
    "LOGIN_THROTTLE_ACCOUNT_DAILY_MAX_FAILURES": "100000",
}


async def burst_phase(
    stack: Stack, plan: Plan, password_hash: str, raise_throttle: bool
) -> BurstResult:
    count = plan.burst_logins
    say(f"launch burst: {count} fresh accounts on a database of their own")
    stack.use_databases("burst")
    path = stack.work / "burst.sqlite3"
    if not stack.external_mongodb_uri:
        # The login service creates its indexes first, as on the main file; the stand-in's
        # engine seeds only a file no server has open.
        await stack.start_standin(path)
        login = await stack.start_login()
        await stack.groups.stop(login)
        await stack.stop_standin()
    await seed(stack, path, 0, count, password_hash, plan.seed_batch)
    await stack.start_standin(path)
    if raise_throttle:
        stack.login_throttle = RAISED_THROTTLE
    usernames = [f"seed{index:07d}" for index in range(count)]
    try:
        burst = await run_burst(stack, plan, usernames, raise_throttle)
    finally:
        stack.login_throttle = {}
        await stack.stop_standin()
    say(
        f"  burst: answers {burst.statuses}, {burst.vouchers} vouchers, first 100 hold them: "
        f"{burst.first_100_hold_them}, last voucher after {burst.to_last_voucher_seconds:.1f} s"
    )
    return burst
