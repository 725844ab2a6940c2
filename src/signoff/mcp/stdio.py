"""stdin/stdout for the stdio gateway without a thread hop per message.

``mcp``'s ``stdio_server`` reads stdin and writes stdout through ``anyio.wrap_file``: every
line read, every write and every flush is a round trip to a worker thread. For a gateway whose
whole job is to add as little as possible to each call, those hops (and the GIL handovers they
cost on a busy host) were a measurable part of the added latency. When stdin and stdout are
pipes or sockets (as when an MCP client spawns the gateway), they are served here with asyncio
pipe transports instead, and handed to ``mcp``'s own ``stdio_server`` as its streams, so message
framing and parsing stay the SDK's. Anything else (a terminal, a file) uses ``stdio_server`` as
it is.

As ``stdio_server`` does, the wire is served from private duplicates while fd 0 reads the null
device and fd 1 points at stderr, so stray output from the gateway or a child cannot corrupt the
protocol; both are restored on exit.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from mcp.server.stdio import stdio_server

__all__ = ["stdio_streams"]

_LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line; the threaded reader has no cap


class _Lines:
    """``async for line in stdin``, as ``stdio_server`` reads its stream."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _Out:
    """``await stdout.write(text)`` / ``await stdout.flush()``, as ``stdio_server`` writes."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _pipe_like(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[tuple[Any, Any]]:
    """``(read_stream, write_stream)`` for ``Server.run``, like ``mcp``'s ``stdio_server()``."""
    if not (_pipe_like(0) and _pipe_like(1)) or sys.platform == "win32":
        async with stdio_server() as streams:
            yield streams
        return
    sys.stdout.flush()
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    try:
        reader = asyncio.StreamReader(limit=_LINE_LIMIT)
        r_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), _dup_file(wire_in, "rb"))
        transports.append(r_transport)
        w_transport, w_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, _dup_file(wire_out, "wb"))
        transports.append(w_transport)
        writer = asyncio.StreamWriter(w_transport, w_protocol, None, loop)
        async with stdio_server(cast(Any, _Lines(reader)), cast(Any, _Out(writer))) as streams:
            yield streams
    finally:
        for transport in transports:
            transport.close()
        for fd, wire in ((0, wire_in), (1, wire_out)):
            os.dup2(wire, fd)
            os.close(wire)
            os.set_blocking(fd, True)  # the pipe transports made the shared description O_NONBLOCK


def _dup_file(fd: int, mode: str) -> Any:
    """A file object of its own over a duplicate of ``fd`` (its transport closes it)."""
    return os.fdopen(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3), mode, buffering=0)
