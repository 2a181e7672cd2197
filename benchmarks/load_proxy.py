"""A small sticky reverse proxy on 127.0.0.1, for measuring several Streamlit servers at once.

    python benchmarks/load_proxy.py LISTEN_PORT BACKEND_PORT [BACKEND_PORT ...]

Used by `load.py --servers K`. Each client connection is pinned to one backend: the one
named by its `gradscope_backend` cookie if it carries one, else the backend with the
fewest open connections (and the first response then sets that cookie, so a browser's
page, static files, websocket and reconnects all reach the same Streamlit process,
which holds its session state). Bytes are piped unchanged after the first request's
head; websockets therefore pass through. Everything listens and connects on 127.0.0.1
only. A benchmark tool: a deployment would use haproxy or nginx with the same cookie.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys

HOST = "127.0.0.1"
COOKIE = "gradscope_backend"
MAX_HEAD = 64 * 1024
COOKIE_RE = re.compile(rb"(?im)^cookie:.*\b" + COOKIE.encode() + rb"=(\d+)")


class Proxy:
    def __init__(self, backends: list[int]):
        self.backends = backends
        self.open = [0] * len(backends)

    def choose(self, head: bytes) -> tuple[int, bool]:
        """(backend index, whether the response must set the cookie)."""
        match = COOKIE_RE.search(head)
        if match and int(match.group(1)) < len(self.backends):
            return int(match.group(1)), False
        return min(range(len(self.backends)), key=self.open.__getitem__), True

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        index, set_cookie = self.choose(head)
        self.open[index] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.backends[index])
        except OSError:
            self.open[index] -= 1
            writer.close()
            return
        try:
            up_writer.write(head)
            await asyncio.gather(
                self.pipe(reader, up_writer),
                self.pipe(up_reader, writer, index if set_cookie else None),
            )
        finally:
            self.open[index] -= 1
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def pipe(reader, writer, cookie_index: int | None = None) -> None:
        try:
            if cookie_index is not None:  # add the cookie to the first response's head
                head = await reader.readuntil(b"\r\n\r\n")
                line_end = head.index(b"\r\n") + 2
                cookie = f"Set-Cookie: {COOKIE}={cookie_index}; Path=/; HttpOnly; SameSite=Lax\r\n"
                writer.write(head[:line_end] + cookie.encode() + head[line_end:])
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            if writer.can_write_eof():
                try:
                    writer.write_eof()
                except OSError:
                    pass


async def serve(port: int, backends: list[int]) -> None:
    proxy = Proxy(backends)
    server = await asyncio.start_server(proxy.handle, HOST, port, limit=MAX_HEAD)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    port, *backends = (int(a) for a in sys.argv[1:])
    asyncio.run(serve(port, backends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
