#!/usr/bin/env python3
"""A TCP forwarder that adds network latency, for benchmarks on loopback.

Usage: latency_proxy.py LISTEN_PORT TARGET_HOST:TARGET_PORT ONE_WAY_MS   (LISTEN_PORT 0: any)

Every chunk of bytes is delivered ONE_WAY_MS after it arrived, in order, in each direction
(a round trip gains 2 x ONE_WAY_MS), without limiting throughput: a remote cluster as a
client sees it. TLS passes through untouched. Listens on 127.0.0.1 only; prints
"ready PORT" on stdout once listening. Needs only the Python standard library.
"""

import asyncio
import sys


async def pipe(reader, writer, delay):
    """Copies reader to writer, each chunk delayed by `delay` seconds, order kept."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        writer.close()


async def main():
    listen_port = int(sys.argv[1])
    host, port = sys.argv[2].rsplit(":", 1)
    delay = float(sys.argv[3]) / 1000.0

    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, upstream_writer, delay),
            pipe(upstream_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
