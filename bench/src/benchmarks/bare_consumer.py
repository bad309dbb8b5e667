"""The floor of a consumed event: a bare aio-pika consume-and-ack loop, nothing else.

``python -m benchmarks.bare_consumer URL QUEUE PREFETCH COUNT`` declares ``QUEUE``
(durable), consumes it with manual acks at ``PREFETCH`` (the consumer's default), and
prints ``ACKED=COUNT`` once it has acknowledged ``COUNT`` messages; it then stays
attached until stopped, so the run can read its CPU time while it is still alive.
"""

import asyncio
import sys

import aio_pika


async def consume(url: str, queue_name: str, prefetch: int, count: int) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(queue_name, durable=True)
        done = asyncio.Event()
        acked = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal acked
            await message.ack()
            acked += 1
            if acked == count:
                done.set()

        await queue.consume(on_message)
        print("READY=1", flush=True)
        await done.wait()
        print(f"ACKED={acked}", flush=True)
        await asyncio.Event().wait()  # stopped by the run (SIGTERM)


def main() -> None:
    url, queue_name = sys.argv[1], sys.argv[2]
    prefetch, count = int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(consume(url, queue_name, prefetch, count))


if __name__ == "__main__":
    main()
