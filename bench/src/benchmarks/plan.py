"""What a run measures, and how long each measurement lasts."""

from dataclasses import dataclass

PASSWORD = "bench-Password-2026!"  # noqa: S105 - the seeded accounts' password, not a secret


@dataclass(frozen=True, slots=True)
class Plan:
    """Parameters of one run (full or quick)."""

    name: str = "full"
    account_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    first_logins_per_size: int = 40  # fresh accounts logged in, one at a time, for the latency
    first_login_phase_seconds: float = 60.0  # at most this long per size
    login_seconds: float = 20.0  # per paired round (both sides at once), and the load alone
    login_connections: int = 8
    read_seconds: float = 6.0
    read_connections: int = 32
    # Paired rounds of each read (the service's and the lean app's side by side): 5 give the
    # median an interval of 94% (results.median_interval).
    read_rounds: int = 5
    argon2_seconds: float = 6.0
    argon2_processes: int = 2
    ceiling_seconds: float = 6.0
    ceiling_concurrency: int = 16
    consumer_counts: tuple[int, ...] = (1, 2, 4)
    backlog_events: int = 400
    registrations: int = 400  # per side (service, lean app), over the paired rounds
    redemptions: int = 200  # per side (service, lean app), at most drive_seconds
    consumer_events: int = 300  # per consumer cost step of eligible events (each a transaction)
    # Per step of events beyond the campaign and of the bare loop: each costs 0.1-0.3 ms of
    # CPU, so a step needs thousands to span seconds of the consumer's steady state.
    fast_consumer_events: int = 20_000
    # Paired steps (the consumer's fast path and the bare loop side by side); the median pair
    # is kept.
    fast_path_rounds: int = 5
    # Paired rounds of logins and of registrations (both sides at once, as the reads): 9
    # give the median an interval of 96% from the second smallest to the second largest.
    password_rounds: int = 9
    burst_logins: int = 1000
    burst_concurrency: int = 16  # first logins in flight during the burst (the stand-in carries it)
    # Idle rates are subtracted over windows of a minute at the largest size on the stand-in:
    # measure them over one whole period of the drivers' periodic work (PyMongo's server
    # heartbeat, every 10 s).
    idle_seconds: float = 10.0
    drive_seconds: float = 15.0
    drive_concurrency: int = 4
    consumer_prefetch: int = 16  # the consumer's default (PROMOTION_CONSUMER_PREFETCH)
    update_seconds: float = 3.0
    http_workers: int = 2
    seed_batch: int = 2000
    voucher_wait_seconds: float = 45.0
    tracing_logins: int = 300  # per round of the tracing cost, each side
    tracing_rounds: int = 5  # paired rounds (off, on), the medians kept
    failure_rounds: int = 5  # rounds of the failed-check timings, each kind per round


FULL = Plan()
QUICK = Plan(
    name="quick", account_sizes=(300, 1_000), first_logins_per_size=10,
    first_login_phase_seconds=40.0, login_seconds=3.0, read_seconds=3.0, read_rounds=1,
    argon2_seconds=2.0, ceiling_seconds=2.0, consumer_counts=(1, 2), backlog_events=80,
    registrations=40, redemptions=40, consumer_events=80, fast_consumer_events=5000,
    fast_path_rounds=1, password_rounds=2, idle_seconds=2.0, drive_seconds=8.0,
    tracing_logins=60, tracing_rounds=2, failure_rounds=2,
)  # fmt: skip
