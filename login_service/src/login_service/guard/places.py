"""Places in flight: a budget admits no more attempts to verification than it has left.

A failure is counted after its verification, so attempts verified at once could spend more
than a budget holds. Each budget window therefore has places in this process: as many as
the budget had left at the latest read of its window (``room``), each held by one attempt
from before its verification until its failure is written or its success returned. An
attempt that finds no place waits for one to be given back, for a bounded time. Waking, it
takes the freed places provisionally before it reads the windows again, so one release
costs one read, not one per waiting attempt; once a read finds a window spent, the attempts
waiting for it are refused without reading.

Rooms are those of windows (their ids name the window's start), and a window's count only
grows, so a later read never finds more room than an earlier one in the same window; a room
of 0 means the budget is spent until its window ends.
"""

import asyncio
from collections.abc import Collection, Mapping


class PlacesInFlight:
    """Places held per window id in this process, and each window's room at the latest read."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._room: dict[str, int] = {}  # kept while a place of the window is held
        self._freed = asyncio.Event()

    def held(self, window_id: str) -> int:
        return self._held.get(window_id, 0)

    def try_take(self, room: Mapping[str, int]) -> bool:
        """Take a place in every window of ``room`` (budget left, as just read) if each has one."""
        fits = all(self.held(window_id) < left for window_id, left in room.items())
        if fits:
            self._take(room)
        for window_id, left in room.items():
            if window_id in self._held:
                self._room[window_id] = left
        return fits

    def release(self, window_ids: Collection[str], *, wake: bool = True) -> None:
        """Give back a place in each window; ``wake`` the attempts waiting for one."""
        for window_id in window_ids:
            left = self._held[window_id] - 1
            if left:
                self._held[window_id] = left
            else:
                del self._held[window_id]
                self._room.pop(window_id, None)
        if wake:
            self._freed.set()
            self._freed = asyncio.Event()

    async def wait(self, window_ids: Collection[str], deadline: float) -> bool:
        """Wait until every window may have a place (by the latest read), or one is spent;
        ``False`` at ``deadline`` (the event loop's clock)."""
        while not self._may_have_place(window_ids):
            freed = self._freed
            try:
                async with asyncio.timeout_at(deadline):
                    await freed.wait()
            except TimeoutError:
                return False
        return True

    def spent(self, window_ids: Collection[str]) -> set[str]:
        """The windows a read of this process found spent (no room until they end)."""
        return {w for w in window_ids if self._room.get(w, 1) <= 0}

    def take_provisionally(self, window_ids: Collection[str]) -> None:
        """A place in each window for an attempt about to read its windows again; until the
        read says how much room there is, the window has this one place, the others wait."""
        self._take(window_ids)
        for window_id in window_ids:
            self._room.setdefault(window_id, 1)

    def _may_have_place(self, window_ids: Collection[str]) -> bool:
        def open_or_spent(window_id: str) -> bool:
            room = self._room.get(window_id)
            return room is None or room <= 0 or self.held(window_id) < room

        return all(open_or_spent(window_id) for window_id in window_ids)

    def _take(self, window_ids: Collection[str]) -> None:
        for window_id in window_ids:
            self._held[window_id] = self.held(window_id) + 1
