"""Operations a fixed-duration load counts: every request the server served, once."""

import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path

import pytest

from benchmarks.load import LoadSpec, run_load


class CountingServer:
    """A keep-alive HTTP/1.1 server that answers every request 200 after a short delay.

    A request counts once its work (the delay) is done, before its answer is written: a
    service pays for a request wrk left in flight although wrk, gone meanwhile, never reads
    the answer (whose write may then fail)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.served = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(self.delay)
                self.served += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server


async def _pause_the_generator(work: Path, at: float, seconds: float) -> None:
    """Stop the wrk process running ``work``'s script ``at`` s into its run for ``seconds``
    s: it wakes past the load's end with answers waiting, as a generator that gets the cores
    late does (which connections it then leaves a request in flight on varies)."""
    script = str(work / "count.lua").encode()
    for _ in range(500):
        found = [pid for pid in _pids() if script in _cmdline(pid)]
        if found:
            break
        await asyncio.sleep(0.01)
    assert found, "wrk did not start"
    await asyncio.sleep(at)
    with contextlib.suppress(ProcessLookupError):
        os.kill(found[0], signal.SIGSTOP)
        await asyncio.sleep(seconds)
        os.kill(found[0], signal.SIGCONT)


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


async def _operations_counted(work: Path, connections: int, paused: bool) -> tuple[int, int]:
    counting = CountingServer(delay=0.02)
    server = await counting.start()
    async with server:
        spec = LoadSpec(f"http://127.0.0.1:{counting.port}", "/", ["t"], connections, 1.0)
        pause = asyncio.create_task(_pause_the_generator(work, 0.8, 0.5)) if paused else None
        result = await run_load(spec, work, "count")
        if pause:
            await pause
        await asyncio.sleep(0.5)  # what was left in flight is served meanwhile
    return result.requests - result.failed + result.left_in_flight, counting.served


@pytest.mark.parametrize("paused", [False, True], ids=["on-time", "woken-late"])
def test_wrk_counts_the_requests_it_left_in_flight(tmp_path: Path, paused: bool) -> None:
    assert shutil.which("wrk"), "wrk is not installed: `make test-tools` installs it"
    counted, served = asyncio.run(_operations_counted(tmp_path, 4, paused))
    assert served > 20
    # One apart at most: a request whose write the load's stop cut short.
    assert abs(counted - served) <= 1
