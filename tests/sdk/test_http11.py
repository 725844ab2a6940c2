"""The SDK's lean HTTP/1.1 transport against a scripted socket server: framing, keep-alive,
disconnects and timeouts map to the httpx errors the retry rules rely on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from signoff.client import AsyncClient, RetryPolicy
from signoff.client.http11 import AsyncHTTP11Transport
from signoff.errors import Unavailable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server running ``handler`` per connection; yields its URL and connection count."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}", connections


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])}
    body = await reader.readexactly(int(fields.get(b"content-length", b"0")))
    return lines[0], fields, body


def answer(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    head = [b"HTTP/1.1 " + status, b"content-type: application/json",
            b"content-length: %d" % len(body), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def test_json_round_trip_and_keep_alive() -> None:
    seen: list[tuple[bytes, dict[bytes, bytes], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                req = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(req)
            writer.write(answer(json.dumps({"echo": json.loads(req[2] or b"null")}).encode()))
            await writer.drain()

    async with server(handler) as (url, connections):
        async with httpx.AsyncClient(base_url=url, transport=AsyncHTTP11Transport()) as http:
            for i in range(3):
                response = await http.post("/v1/x?a=1", json={"i": i},
                                           headers={"Authorization": "Bearer t"})
                assert response.status_code == 200 and response.json() == {"echo": {"i": i}}
    assert len(connections) == 1  # one connection, reused
    line, fields, _ = seen[0]
    assert line == b"POST /v1/x?a=1 HTTP/1.1"
    assert fields[b"authorization"] == b"Bearer t" and fields[b"host"].startswith(b"127.0.0.1")


async def test_chunked_answer_and_connection_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n"
                     b"connection: close\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n")
        await writer.drain()

    async with server(handler) as (url, connections):
        async with httpx.AsyncClient(base_url=url, transport=AsyncHTTP11Transport()) as http:
            for _ in range(2):
                response = await http.get("/")
                assert response.status_code == 201 and response.json() == {"a": 1}
    assert len(connections) == 2  # ``connection: close`` is honoured


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"{}"))
        await writer.drain()  # then close without a connection: close header

    async with server(handler) as (url, connections):
        async with httpx.AsyncClient(base_url=url, transport=AsyncHTTP11Transport()) as http:
            assert (await http.get("/")).status_code == 200
            await asyncio.sleep(0.05)
            assert (await http.get("/")).status_code == 200
    assert len(connections) == 2


async def test_disconnect_before_an_answer_and_read_timeout() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with server(hang_up) as (url, _):
        async with httpx.AsyncClient(base_url=url, transport=AsyncHTTP11Transport()) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/")
    async with server(stall) as (url, _):
        async with httpx.AsyncClient(base_url=url, transport=AsyncHTTP11Transport(),
                                     timeout=httpx.Timeout(5.0, read=0.1)) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/")


async def test_refused_connection_is_unsent_so_the_sdk_says_unavailable() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    transport = AsyncHTTP11Transport()
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")
    client = AsyncClient(f"http://127.0.0.1:{port}", "t", retry=RetryPolicy(attempts=1))
    with pytest.raises(Unavailable):
        await client.get("a-1")
    await client.aclose()


async def test_the_async_client_uses_it_unless_given_a_transport(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = AsyncClient("http://signoff.test", "t")
    assert isinstance(client._http._transport, AsyncHTTP11Transport)
    assert client._direct is client._http._transport
    await client.aclose()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    client = AsyncClient("http://signoff.test", "t")  # a proxy: through httpx's own pipeline
    assert client._direct is None
    await client.aclose()
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = AsyncClient("http://signoff.test", "t", transport=mock)
    assert client._http._transport is mock
    await client.aclose()


async def test_requests_beyond_the_connection_limit_wait_for_a_slot() -> None:
    gate = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await gate.wait()
        writer.write(answer(b"{}"))
        await writer.drain()

    async with server(handler) as (url, connections):
        transport = AsyncHTTP11Transport(max_connections=2)
        async with httpx.AsyncClient(base_url=url, transport=transport,
                                     timeout=httpx.Timeout(5.0, pool=0.1)) as http:
            held = [asyncio.create_task(http.get("/")) for _ in range(2)]
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await http.get("/")  # both slots busy past the pool timeout
            third = asyncio.create_task(http.get("/"))
            await asyncio.sleep(0.05)
            assert len(connections) == 2
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held, third)] == [200] * 3


async def test_direct_requests_carry_what_httpx_would_send() -> None:
    seen: list[tuple[bytes, dict[bytes, bytes], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(answer(b'{"id": "a-1"}'))
            await writer.drain()

    async with server(handler) as (url, _):
        for direct in (True, False):
            client = AsyncClient(url + "/prefix/", "so_agent_t")
            if not direct:
                client._direct = None
            await client._send("POST", "/v1/x", json={"é": 1}, params={"timeout": 1.5, "q": "a b"})
            await client.aclose()
    (line_d, fields_d, body_d), (line_h, fields_h, body_h) = seen
    assert line_d == line_h == b"POST /prefix/v1/x?timeout=1.5&q=a+b HTTP/1.1"
    assert body_d == body_h and json.loads(body_d) == {"é": 1}
    assert fields_d == fields_h
    assert fields_d[b"authorization"] == b"Bearer so_agent_t"
    assert fields_d[b"content-type"] == b"application/json"
