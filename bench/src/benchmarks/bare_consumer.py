"""The floor of a consumed event: a bare aio-pika consume-and-ack loop, nothing else.

``python -m benchmarks.bare_consumer URL QUEUE PREFETCH COUNT`` declares ``QUEUE`` (durable),
prints ``READY=1``, waits for ``SIGUSR1`` (so it consumes as soon as asked, whatever its
start-up takes), consumes with manual acks at ``PREFETCH``, prints ``ACKED=COUNT`` once it
acknowledged ``COUNT`` messages, and stays alive until stopped so its CPU can be read.
"""

import asyncio
import signal
import sys

import aio_pika

START_SIGNAL = signal.SIGUSR1


async def consume(url: str, queue_name: str, prefetch: int, count: int) -> None:
    go = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(START_SIGNAL, go.set)
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(queue_name, durable=True)
        done, acked = asyncio.Event(), 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal acked
            await message.ack()
            acked += 1
            if acked == count:
                done.set()

        print("READY=1", flush=True)
        await go.wait()
        await queue.consume(on_message)
        await done.wait()
        print(f"ACKED={acked}", flush=True)
        await asyncio.Event().wait()  # stopped by the run (SIGTERM)


if __name__ == "__main__":
    url, queue_name, prefetch, count = sys.argv[1:5]
    asyncio.run(consume(url, queue_name, int(prefetch), int(count)))
