"""A small HTTP/1.1 keep-alive transport for ``AsyncClient``, on plain asyncio streams.

httpx's default transport (httpcore on anyio) spends about 0.4-0.5 ms of CPU per request in
connection-pool bookkeeping, socket attribute lookups and checkpoints; a proposal is one small
JSON request and one small JSON answer, so on a busy host that overhead was a large part of what
the MCP gateway added to every tool call. This transport does only what the SDK needs: one
request per connection at a time, ``Content-Length`` and chunked answers, keep-alive reuse, TLS
with one context built once, and httpx's timeouts and exception classes, so the retry rules in
``signoff.client.transport`` (``ConnectError``/``ConnectTimeout`` mean "never sent") hold
unchanged. Proxies configured in the environment still work: httpx routes proxied URLs through
its own proxy transports and only hands direct requests to this one.

It is asyncio-only (the SDK's async client is) and a connection is only reused on the event
loop that opened it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any

import httpx

__all__ = ["AsyncHTTP11Transport"]

_MAX_HEAD = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


class _Conn:
    __slots__ = ("idle_since", "loop", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.reader = reader
        self.writer = writer
        self.loop = loop
        self.idle_since = 0.0

    def usable(self, loop: asyncio.AbstractEventLoop, now: float, expiry: float) -> bool:
        return (self.loop is loop and not self.writer.is_closing()
                and not self.reader.at_eof() and now - self.idle_since < expiry)

    def close(self) -> None:
        try:
            self.writer.close()
        except (OSError, RuntimeError):  # the loop that owned it may be gone
            pass


def request_timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None,
                                                     float | None]:
    """httpx's per-phase timeouts of a request: connect, read, write, pool (both transports)."""
    t: dict[str, Any] = request.extensions.get("timeout", {})
    return t.get("connect"), t.get("read"), t.get("write"), t.get("pool")


class AsyncHTTP11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a keep-alive pool per origin."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100,
                 max_keepalive: int = 20, keepalive_expiry: float = 4.0) -> None:
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], deque[_Conn]] = {}
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._expiry = keepalive_expiry
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- connections ----------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._ssl = self._verify
            else:
                self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    async def _connect(self, key: tuple[str, str, int], timeout: float | None,
                       loop: asyncio.AbstractEventLoop) -> _Conn:
        scheme, host, port = key
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None,
                    limit=_MAX_HEAD)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return _Conn(reader, writer, loop)

    def _checkout(self, key: tuple[str, str, int], loop: asyncio.AbstractEventLoop
                  ) -> _Conn | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(loop, now, self._expiry):
                return conn
            conn.close()
        return None

    def _checkin(self, key: tuple[str, str, int], conn: _Conn) -> None:
        idle = self._idle.setdefault(key, deque())
        if self._closed or len(idle) >= self._max_keepalive:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    # -- one request ------------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}")
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        connect_t, read_t, write_t, pool_t = request_timeouts(request)
        loop = asyncio.get_running_loop()
        body = await request.aread()
        head = self._head(request, body)
        if self._active >= self._max_connections:
            await self._wait_for_slot(loop, pool_t)
        self._active += 1
        try:
            conn = self._checkout(key, loop) or await self._connect(key, connect_t, loop)
            try:
                response, reusable = await self._exchange(conn, request, head, body,
                                                          read_t, write_t)
            except BaseException:
                conn.close()
                raise
            if reusable:
                self._checkin(key, conn)
            else:
                conn.close()
            return response
        finally:
            self._active -= 1
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop,
                             timeout: float | None) -> None:
        """Wait (up to the pool timeout) until fewer than ``max_connections`` are in flight."""
        deadline = None if timeout is None else loop.time() + timeout
        while self._active >= self._max_connections:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            left = None if deadline is None else deadline - loop.time()
            try:
                async with asyncio.timeout(left):
                    await waiter
            except TimeoutError:
                raise httpx.PoolTimeout(
                    f"{self._max_connections} requests already in flight") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    @staticmethod
    def _head(request: httpx.Request, body: bytes) -> bytes:
        headers = request.headers
        lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        for name, value in headers.raw:
            if chunked and name.lower() in (b"transfer-encoding", b"content-length"):
                continue
            lines.append(name + b": " + value)
        if chunked or (body and "content-length" not in headers):
            lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _exchange(self, conn: _Conn, request: httpx.Request, head: bytes, body: bytes,
                        read_t: float | None, write_t: float | None
                        ) -> tuple[httpx.Response, bool]:
        writer, reader = conn.writer, conn.reader
        try:
            writer.write(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                writer.write(body)
            async with asyncio.timeout(write_t):
                await writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("writing the request timed out") from None
        except (OSError, RuntimeError) as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
        started = False
        try:
            async with asyncio.timeout(read_t):
                while True:
                    status, reason, raw_headers, fields = await self._read_head(reader)
                    started = True
                    if not (100 <= status < 200) or status == 101:
                        break
                content, reusable = await self._read_body(reader, request.method, status,
                                                          fields)
        except TimeoutError:
            raise httpx.ReadTimeout("reading the answer timed out") from None
        except asyncio.IncompleteReadError as exc:
            if not started and not exc.partial:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.") from None
            raise httpx.RemoteProtocolError("the server closed the connection mid-answer"
                                            ) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("answer headers too large") from None
        except (OSError, RuntimeError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if fields.get(b"connection", b"").lower() == b"close":
            reusable = False
        elif request.headers.get("connection", "").lower() == "close":
            reusable = False
        response = httpx.Response(
            status, headers=raw_headers, stream=httpx.ByteStream(content), request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})
        return response, reusable

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader
                         ) -> tuple[int, bytes, list[tuple[bytes, bytes]], dict[bytes, bytes]]:
        block = await reader.readuntil(b"\r\n\r\n")
        lines = block[:-4].split(b"\r\n")
        try:
            version, code, *rest = lines[0].split(b" ", 2)
            status = int(code)
        except ValueError:
            raise httpx.RemoteProtocolError(f"bad status line {lines[0][:80]!r}") from None
        if not version.startswith(b"HTTP/1."):
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        raw: list[tuple[bytes, bytes]] = []
        fields: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"bad header line {line[:80]!r}")
            name, value = name.strip(), value.strip()
            raw.append((name, value))
            lower = name.lower()
            fields[lower] = fields[lower] + b", " + value if lower in fields else value
        if version == b"HTTP/1.0" and fields.get(b"connection", b"").lower() != b"keep-alive":
            fields[b"connection"] = b"close"
        return status, rest[0] if rest else b"", raw, fields

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, method: str, status: int,
                         fields: dict[bytes, bytes]) -> tuple[bytes, bool]:
        if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
            return b"", True
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            parts = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError("bad chunk size") from None
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return b"".join(parts), True
                parts.append(await reader.readexactly(size))
                if await reader.readexactly(2) != b"\r\n":
                    raise httpx.RemoteProtocolError("bad chunk terminator")
        length = fields.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                raise httpx.RemoteProtocolError("bad Content-Length") from None
            return await reader.readexactly(n), True
        return await reader.read(), False  # delimited by the server closing the connection

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._idle.clear()
