"""The hashing threads' queue: owners first, and a full queue sheds at once with 503."""

import asyncio

import pytest

from login_service.errors import VerificationQueueFull
from login_service.guard.verification_queue import VerificationQueue


async def _hold(queue: VerificationQueue, order: list[str], name: str, *, owner: bool) -> None:
    async with queue.slot(owner=owner):
        order.append(name)
        await asyncio.sleep(0)


async def test_waiting_owners_are_served_before_every_waiting_untrusted_attempt() -> None:
    queue = VerificationQueue(slots=1, limit=10, retry_after_seconds=5)
    order: list[str] = []
    async with queue.slot():  # the thread is busy: everyone below waits
        tasks = [
            asyncio.create_task(_hold(queue, order, name, owner=name.startswith("owner")))
            for name in ("other1", "other2", "owner1", "other3", "owner2")
        ]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)

    assert order == ["owner1", "owner2", "other1", "other2", "other3"]


async def test_a_full_queue_sheds_untrusted_attempts_at_once_but_admits_owners() -> None:
    queue = VerificationQueue(slots=1, limit=2, retry_after_seconds=5)
    order: list[str] = []
    async with queue.slot():
        waiting = [
            asyncio.create_task(_hold(queue, order, f"other{i}", owner=False)) for i in range(2)
        ]
        await asyncio.sleep(0)
        with pytest.raises(VerificationQueueFull) as shed:
            async with queue.slot():
                pass
        owner = asyncio.create_task(_hold(queue, order, "owner", owner=True))
        await asyncio.sleep(0)
        assert queue.waiting == 3
    await asyncio.gather(*waiting, owner)

    assert shed.value.retry_after_seconds == 5
    assert order == ["owner", "other0", "other1"]


async def test_registration_hashes_wait_rather_than_being_shed() -> None:
    queue = VerificationQueue(slots=1, limit=1, retry_after_seconds=5)
    order: list[str] = []
    async with queue.slot():
        first = asyncio.create_task(_hold(queue, order, "login", owner=False))
        await asyncio.sleep(0)

        async def register() -> None:
            async with queue.slot(sheddable=False):
                order.append("registration")

        second = asyncio.create_task(register())
        await asyncio.sleep(0)
    await asyncio.gather(first, second)

    assert order == ["login", "registration"]


async def test_a_cancelled_waiter_hands_its_slot_on() -> None:
    queue = VerificationQueue(slots=1, limit=10, retry_after_seconds=5)
    order: list[str] = []
    async with queue.slot():
        cancelled = asyncio.create_task(_hold(queue, order, "gone", owner=False))
        served = asyncio.create_task(_hold(queue, order, "served", owner=False))
        await asyncio.sleep(0)
        cancelled.cancel()
    await asyncio.gather(served)

    assert order == ["served"]
    assert queue.waiting == 0
