"""The run's own exchange and queue names, so the shared broker's defaults stay untouched."""

from dataclasses import dataclass

ROUTING_KEY = "account.first_login.v1"


@dataclass(frozen=True, slots=True)
class BrokerNames:
    """Exchange and queues of this run only, so the shared broker's defaults stay untouched."""

    exchange: str
    queue: str
    dead_letter_exchange: str
    dead_letter_queue: str
    bare_queue: str  # the bare consume-and-ack loop's own queue

    @classmethod
    def for_run(cls, run_id: str) -> "BrokerNames":
        prefix = f"bench.{run_id}"
        return cls(
            exchange=f"{prefix}.accounts.events",
            queue=f"{prefix}.promotion.first_login",
            dead_letter_exchange=f"{prefix}.promotion.dead_letter",
            dead_letter_queue=f"{prefix}.promotion.first_login.dead",
            bare_queue=f"{prefix}.bare",
        )
