"""The SDK's blocking HTTP/1.1 transport against a scripted socket server: framing, keep-alive,
disconnects and timeouts map to the httpx errors the retry rules rely on (the sync twin of
``test_http11.py``)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
from socket_server import Peer, Request, answer, echo_json, serve

from signoff.client.http11_sync import HTTP11Transport
from tests.certs import self_signed


def test_json_round_trip_and_keep_alive() -> None:
    seen: list[Request] = []

    def handler(peer: Peer) -> None:
        while (req := peer.read_request()) is not None:
            seen.append(req)
            peer.send(answer(json.dumps({"echo": json.loads(req.body or b"null")}).encode()))

    with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                             transport=HTTP11Transport()) as http:
        for i in range(3):
            response = http.post("/v1/x?a=1", json={"i": i}, headers={"Authorization": "Bearer t"})
            assert response.status_code == 200 and response.json() == {"echo": {"i": i}}
        assert response.http_version == "HTTP/1.1"
        assert len(srv.connections) == 1  # one connection, reused
    first = seen[0]
    assert first.line == b"POST /v1/x?a=1 HTTP/1.1"
    assert first.fields[b"authorization"] == b"Bearer t"
    assert first.fields[b"host"].startswith(b"127.0.0.1")
    assert json.loads(first.body) == {"i": 0}
    assert first.fields[b"content-length"] == b"%d" % len(first.body)


def test_chunked_answer_and_connection_close() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n"
                  b"connection: close\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n")
        peer.at_eof()  # keep the socket open: the client must close it because it was told to

    with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                             transport=HTTP11Transport()) as http:
        for _ in range(2):
            response = http.get("/")
            assert response.status_code == 201 and response.json() == {"a": 1}
        assert len(srv.connections) == 2  # ``connection: close`` is honoured
    with serve(echo_json) as srv, httpx.Client(base_url=srv.url,
                                               transport=HTTP11Transport()) as http:
        for _ in range(2):  # the server would keep it open, but the request asked to close
            assert http.get("/", headers={"Connection": "close"}).json() == {"ok": True}
        assert len(srv.connections) == 2


def test_http_1_0_answers_close_unless_kept_alive() -> None:
    def plain(peer: Peer) -> None:  # HTTP/1.0 without keep-alive: one answer per connection
        while peer.read_request() is not None:
            peer.send(answer(b'{"v": 0}', version=b"HTTP/1.0"))

    def kept(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(answer(b'{"v": 1}', b"connection: keep-alive", version=b"HTTP/1.0"))

    def until_close(peer: Peer) -> None:  # no length: the body ends where the server closes
        peer.read_request()
        peer.send(b'HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{"v": 2}')

    for handler, connections, value in ((plain, 2, 0), (kept, 1, 1), (until_close, 2, 2)):
        with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                                 transport=HTTP11Transport()) as http:
            for _ in range(2):
                response = http.get("/")
                assert response.json() == {"v": value}
                assert response.http_version == "HTTP/1.0"
            assert len(srv.connections) == connections, handler.__name__


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(answer(b"{}"))  # then close without a connection: close header

    with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                             transport=HTTP11Transport()) as http:
        assert http.get("/").status_code == 200
        time.sleep(0.05)  # the server's FIN reaches the client's idle connection
        assert http.get("/").status_code == 200  # checked before reuse: a fresh connection
        assert len(srv.connections) == 2


def test_an_idle_connection_expires_after_keepalive_expiry() -> None:
    with serve(echo_json) as srv, httpx.Client(
            base_url=srv.url, transport=HTTP11Transport(keepalive_expiry=0.05)) as http:
        http.get("/")
        http.get("/")  # within the expiry: reused
        time.sleep(0.1)
        http.get("/")
        assert len(srv.connections) == 2
        assert srv.connections[0].hung_up.wait(2)  # the expired one was closed, not leaked
        assert not srv.connections[1].hung_up.is_set()


def test_disconnects_before_and_during_an_answer_and_a_bad_status_line() -> None:
    def hang_up(peer: Peer) -> None:
        peer.read_request()

    def second_hang_up(peer: Peer) -> None:  # answers once, then drops the next request
        peer.read_request()
        peer.send(answer(b"{}"))
        peer.read_request()

    def mid_answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\"")

    def mid_chunks(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\n{\"partial")

    def bad_status(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTX/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")

    no_answer = "Server disconnected without sending a response."
    for handler, message in ((hang_up, no_answer), (mid_answer, "mid-answer"),
                             (mid_chunks, "mid-answer"), (bad_status, "BadStatusLine")):
        with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                                 transport=HTTP11Transport()) as http:
            with pytest.raises(httpx.RemoteProtocolError, match=message):
                http.get("/")
    with serve(second_hang_up) as srv, httpx.Client(base_url=srv.url,
                                                    transport=HTTP11Transport()) as http:
        assert http.get("/").status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match=no_answer):
            http.get("/")  # the reused connection was dropped after the request went out


def test_informational_answers_and_a_bad_content_length_are_refused() -> None:
    def continue_then_ok(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b'{"ok": 1}'))

    def early_hints(peer: Peer) -> None:  # http.client would take the 103 as the answer
        peer.read_request()
        peer.send(b"HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n" + answer(b"{}"))

    def bad_length(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n{}")

    with serve(continue_then_ok) as srv, httpx.Client(transport=HTTP11Transport()) as http:
        assert http.get(srv.url).json() == {"ok": 1}
    for handler, message in ((early_hints, "informational answer 103"),
                             (bad_length, "bad Content-Length")):
        with serve(handler) as srv, httpx.Client(transport=HTTP11Transport()) as http:
            with pytest.raises(httpx.RemoteProtocolError, match=message):
                http.get(srv.url)


def test_read_and_write_timeouts() -> None:
    release = threading.Event()

    def stall(peer: Peer) -> None:
        peer.read_request()
        release.wait(5)

    def never_read(peer: Peer) -> None:
        release.wait(5)

    with serve(stall) as srv, httpx.Client(base_url=srv.url, transport=HTTP11Transport(),
                                           timeout=httpx.Timeout(5.0, read=0.1)) as http:
        started = time.monotonic()
        try:
            with pytest.raises(httpx.ReadTimeout):
                http.get("/")
        finally:
            release.set()
        assert time.monotonic() - started < 2
    release.clear()
    with serve(never_read, rcvbuf=4096) as srv, httpx.Client(
            base_url=srv.url, transport=HTTP11Transport(),
            timeout=httpx.Timeout(5.0, write=0.2)) as http:
        try:
            with pytest.raises(httpx.WriteTimeout):  # more than the socket buffers hold
                http.post("/", content=b"x" * (64 * 1024 * 1024))
        finally:
            release.set()


def test_refused_connection_and_unsupported_scheme() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with httpx.Client(transport=HTTP11Transport()) as http:
        with pytest.raises(httpx.ConnectError):
            http.get(f"http://127.0.0.1:{port}/")
    with pytest.raises(httpx.UnsupportedProtocol):
        HTTP11Transport().handle_request(httpx.Request("GET", "ftp://127.0.0.1/x"))


def test_two_threads_share_the_pool_one_connection_each_at_a_time() -> None:
    both_in = threading.Barrier(2, timeout=5)
    lock = threading.Lock()
    first_requests: list[Request] = []

    def handler(peer: Peer) -> None:
        while (req := peer.read_request()) is not None:
            with lock:
                first = len(first_requests) < 2
                if first:
                    first_requests.append(req)
            if first:  # both threads' first requests are in flight at once
                both_in.wait()
            peer.send(answer(req.body))

    errors: list[BaseException] = []
    with serve(handler) as srv, httpx.Client(base_url=srv.url,
                                             transport=HTTP11Transport()) as http:
        def work(name: str) -> None:
            try:
                for i in range(50):
                    body = {"thread": name, "i": i}
                    assert http.post("/", json=body).json() == body  # never another's answer
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert errors == []
        assert len(srv.connections) == 2  # two at once, then each reused


def test_requests_beyond_the_connection_limit_wait_for_a_slot() -> None:
    release = threading.Event()

    def handler(peer: Peer) -> None:
        while peer.read_request() is not None:
            release.wait(5)
            peer.send(answer(b"{}"))

    with serve(handler) as srv, httpx.Client(
            base_url=srv.url, transport=HTTP11Transport(max_connections=2),
            timeout=httpx.Timeout(5.0, pool=0.1)) as http:
        statuses: list[int] = []
        held = [threading.Thread(target=lambda: statuses.append(http.get("/").status_code))
                for _ in range(3)]
        for thread in held[:2]:
            thread.start()
        time.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            http.get("/")  # both slots busy past the pool timeout
        http.timeout = httpx.Timeout(5.0)
        held[2].start()  # waits for a slot instead
        time.sleep(0.1)
        assert len(srv.connections) == 2
        release.set()
        for thread in held:
            thread.join(5)
        assert statuses == [200] * 3 and len(srv.connections) == 2


def test_tls_with_one_context_built_once(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    def close_each(peer: Peer) -> None:
        peer.read_request()
        peer.send(answer(b'{"tls": true}', b"connection: close"))

    with serve(close_each, tls=server_ctx) as srv:
        transport = HTTP11Transport(verify=trusting)
        with httpx.Client(transport=transport) as http:
            for _ in range(2):
                assert http.get(srv.url).json() == {"tls": True}
        assert transport._ssl is trusting and len(srv.connections) == 2

        built: list[object] = []
        real = httpx.create_ssl_context
        monkeypatch.setattr(httpx, "create_ssl_context",
                            lambda **kw: built.append(kw) or real(**kw))
        with httpx.Client(transport=HTTP11Transport()) as http:  # the system CAs: refused
            for _ in range(2):
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    http.get(srv.url)
        assert len(built) == 1  # one context for every connection
