#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that adds a fixed one-way delay in each
direction, to benchmark juheid as if the service were far away.

    delay_proxy.py --target 127.0.0.1:PORT --delay-ms 10 --port-file F

RTT through the proxy = 2 x delay.  A new connection also waits one RTT
before its first bytes move (standing in for the TCP handshake, which on
loopback costs nothing).  Bytes keep their order; bandwidth is not limited.
Runs until SIGTERM or SIGINT.  Standard library only; loopback only.
"""
import argparse
import asyncio
import collections
import os
import signal
import time


async def pump(reader, writer, delay):
    """Copy reader to writer, each chunk released delay seconds after it
    was read."""
    queue = collections.deque()
    ready = asyncio.Event()
    done = False

    async def read_side():
        nonlocal done
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                queue.append((time.monotonic() + delay, data))
                ready.set()
        except (ConnectionError, OSError):
            pass
        done = True
        ready.set()

    task = asyncio.ensure_future(read_side())
    try:
        while True:
            if not queue:
                if done:
                    break
                ready.clear()
                await ready.wait()
                continue
            due, data = queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            queue.popleft()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        task.cancel()
        try:
            writer.close()
        except OSError:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="host:port to forward to")
    ap.add_argument("--delay-ms", type=float, default=10.0, help="one-way delay")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    delay = args.delay_ms / 1000.0

    async def handle(creader, cwriter):
        await asyncio.sleep(2 * delay)          # the TCP handshake's round trip
        try:
            treader, twriter = await asyncio.open_connection(host, int(port))
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pump(creader, twriter, delay), pump(treader, cwriter, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", args.port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.sockets[0].getsockname()[1])
        os.replace(tmp, args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
