"""Operations a fixed-duration load counts: every request the server answered, once."""

import asyncio
import shutil
from pathlib import Path

from benchmarks.load import LoadSpec, run_load


class CountingServer:
    """A keep-alive HTTP/1.1 server that answers every request 200 after a short delay."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.answered = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                self.answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server


async def _operations_counted(work: Path, connections: int) -> tuple[int, int]:
    counting = CountingServer(delay=0.02)
    server = await counting.start()
    async with server:
        spec = LoadSpec(f"http://127.0.0.1:{counting.port}", "/", ["t"], connections, 1.0)
        result = await run_load(spec, work, "count")
        await asyncio.sleep(0.5)  # what was left in flight is answered meanwhile
    return result.requests - result.failed + result.left_in_flight, counting.answered


def test_wrk_counts_the_requests_it_left_in_flight(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "wrk is not installed: `make test-tools` installs it"
    counted, answered = asyncio.run(_operations_counted(tmp_path, 4))
    assert answered > 20
    assert abs(counted - answered) <= 1  # a connection may stop between two requests
