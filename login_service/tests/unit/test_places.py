"""Places in flight: a window admits at most its room at once; waiters take freed places."""

import asyncio

from login_service.guard.places import PlacesInFlight


async def test_a_window_admits_at_most_its_room_and_a_release_frees_one_place() -> None:
    places = PlacesInFlight()
    taken = [places.try_take({"client:0:net": 2}) for _ in range(3)]
    places.release(["client:0:net"])

    assert taken == [True, True, False]
    assert places.try_take({"client:0:net": 2})
    assert places.held("client:0:net") == 2


async def test_a_waiter_takes_a_freed_place_and_the_others_keep_waiting() -> None:
    places = PlacesInFlight()
    assert places.try_take({"w": 1})
    loop = asyncio.get_running_loop()
    outcomes: list[bool] = []

    async def waiter() -> None:
        woken = await places.wait(["w"], loop.time() + 0.2)
        if woken:
            places.take_provisionally(["w"])
        outcomes.append(woken)

    waiters = [asyncio.create_task(waiter()) for _ in range(3)]
    await asyncio.sleep(0)
    places.release(["w"])
    await asyncio.gather(*waiters)

    assert sorted(outcomes) == [False, False, True], "one freed place, one waiter in"
    assert places.held("w") == 1


async def test_a_spent_window_ends_every_wait_and_is_known_spent() -> None:
    places = PlacesInFlight()
    assert places.try_take({"w": 2})
    assert places.try_take({"w": 2})
    loop = asyncio.get_running_loop()
    waiter = asyncio.create_task(places.wait(["w"], loop.time() + 5))
    await asyncio.sleep(0)
    assert not places.try_take({"w": 0})  # a read found the budget spent
    places.release(["w"])  # one attempt still holds a place

    assert await waiter, "the wait ends at once"
    assert places.spent(["w", "other"]) == {"w"}, "refused without another read"


async def test_places_are_forgotten_with_their_last_holder() -> None:
    places = PlacesInFlight()
    assert places.try_take({"a": 3, "b": 1})
    places.release(["a", "b"])

    assert places._held == {}
    assert places._room == {}
