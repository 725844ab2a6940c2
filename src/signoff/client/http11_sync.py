"""A small blocking HTTP/1.1 keep-alive transport for ``Client``, on the standard library's
``http.client``.

httpx's default sync transport (httpcore) and its client pipeline cost about 1.2 ms of CPU per
request on the reference host, against about 0.3 ms for ``http.client`` alone; an allowed gated
call is one small JSON request and one small JSON answer, so that overhead was a large part of
what a gate added to a call. ``http.client`` does the HTTP/1.1 framing (status line, headers,
``Content-Length``, chunked, HTTP/1.0, whether the server keeps the connection open); this
module adds only what the SDK needs around it: a keep-alive pool per origin shared by threads
(the gate's caller and the outcome sender use one client; a connection serves one request at a
time), idle connections dropped after ``keepalive_expiry`` or once the server closed them (a
readability check before reuse, as httpcore does), TLS with one ``ssl.SSLContext`` built once,
httpx's per-phase timeouts applied to the socket, and httpx's exception classes, so the retry
rules in ``signoff.client.transport`` hold unchanged: ``ConnectError``/``ConnectTimeout`` only
while connecting, before a byte of the request was written.

Where ``http.client`` falls short, this module does the minimum itself:

* it writes a request's head and body in two ``send`` calls; ``_Coalescing`` joins them into
  one write, so a proposal is one segment on the wire (one wake-up for the server);
* it reads any informational answer other than ``100 Continue`` (102, 103) as the final one and
  may already have buffered the real answer behind it, so such an answer is refused with
  ``RemoteProtocolError`` and the connection dropped (signoff never sends one);
* it ignores an unreadable ``Content-Length`` and reads to the close instead; that is refused
  with ``RemoteProtocolError`` as the async transport does.

One difference remains: a server that closes the connection in the middle of an answer's
headers, on an answer with neither ``Content-Length`` nor chunked framing, is read as an answer
with an empty body (httpx raises ``RemoteProtocolError``). The SDK then fails on the empty body
(``ProtocolError``, or ``Unavailable`` for a 502-504); nothing runs without a verified grant.

Timeouts are httpx's: ``connect`` covers the TCP connect and the TLS handshake, ``write`` and
``read`` apply to each socket operation (as in httpcore's sync transport), ``pool`` bounds the
wait for a free slot when ``max_connections`` requests are in flight.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from collections import deque
from typing import Any

import httpx

from signoff.client.http11 import request_timeouts

__all__ = ["HTTP11Transport"]

_Key = tuple[str, str, int]


class _Coalescing(http.client.HTTPConnection):
    """``endheaders`` sends the head with one ``send`` call; the body parked in ``body`` rides
    along in the same write instead of a second one."""

    body = b""

    def send(self, data: Any) -> None:
        body = self.body
        if body:
            self.body = b""
            data = data + body
        super().send(data)


class _HTTPConnection(_Coalescing):
    auto_open = 0  # never reconnect silently inside ``send``: that would hide a connect error


class _HTTPSConnection(_Coalescing, http.client.HTTPSConnection):
    auto_open = 0


def _poll_readable(sock: socket.socket) -> bool:
    """True if the socket has data or EOF waiting: on an idle keep-alive connection either means
    the server closed it (or broke the protocol), so it must not carry another request."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    fd = sock.fileno()
    if fd < 0:
        return True
    if hasattr(select, "poll"):  # poll has no FD_SETSIZE limit
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


class _Conn:
    __slots__ = ("http", "idle_since", "timeout")

    def __init__(self, conn: _Coalescing, timeout: float | None) -> None:
        self.http = conn
        self.idle_since = 0.0
        self.timeout = timeout  # what the socket has now (set by connect)

    def settimeout(self, timeout: float | None) -> None:
        if timeout != self.timeout:  # each change is a syscall; phases often share a value
            assert self.http.sock is not None
            self.http.sock.settimeout(timeout)
            self.timeout = timeout

    def dropped(self) -> bool:
        sock = self.http.sock
        return sock is None or _poll_readable(sock)

    def close(self) -> None:
        try:
            self.http.close()
        except OSError:  # closing a broken TLS socket can fail; it is gone either way
            pass


class HTTP11Transport(httpx.BaseTransport):
    """Blocking HTTP/1.1 with a keep-alive pool per origin, safe to share between threads."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100,
                 max_keepalive: int = 20, keepalive_expiry: float = 4.0) -> None:
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[_Key, deque[_Conn]] = {}
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        # Below uvicorn's 5 s keep-alive: a connection the server is about to drop is not reused.
        self._expiry = keepalive_expiry
        self._active = 0
        self._cond = threading.Condition()  # guards _idle, _active, _closed and _ssl
        self._closed = False

    # -- connections ----------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        with self._cond:
            if self._ssl is None:  # built once: loading the CA bundle costs milliseconds
                if isinstance(self._verify, ssl.SSLContext):
                    self._ssl = self._verify
                else:
                    self._ssl = httpx.create_ssl_context(verify=self._verify)
            return self._ssl

    def _connect(self, key: _Key, timeout: float | None) -> _Conn:
        scheme, host, port = key
        conn: _Coalescing
        if scheme == "https":
            conn = _HTTPSConnection(host, port, timeout=timeout, context=self._ssl_context())
        else:
            conn = _HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()  # TCP connect and TLS handshake: nothing of the request is sent yet
        except TimeoutError:
            conn.close()
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ValueError) as exc:  # refused, DNS, TLS (SSLError, CertificateError)
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return _Conn(conn, timeout)

    def _acquire(self, timeout: float | None) -> None:
        with self._cond:
            if self._active >= self._max_connections and not self._cond.wait_for(
                    lambda: self._active < self._max_connections, timeout):
                raise httpx.PoolTimeout(f"{self._max_connections} requests already in flight")
            self._active += 1

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify()

    def _checkout(self, key: _Key) -> _Conn | None:
        while True:
            with self._cond:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn = idle.pop()  # the most recently used: the least likely to be dropped
            # Outside the lock: another thread may check out or return its own connection.
            if time.monotonic() - conn.idle_since < self._expiry and not conn.dropped():
                return conn
            conn.close()

    def _checkin(self, key: _Key, conn: _Conn) -> None:
        with self._cond:
            idle = self._idle.setdefault(key, deque())
            if not self._closed and len(idle) < self._max_keepalive:
                conn.idle_since = time.monotonic()
                idle.append(conn)
                return
        conn.close()

    # -- one request ------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}")
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        connect_t, read_t, write_t, pool_t = request_timeouts(request)
        body = request.read()
        self._acquire(pool_t)
        try:
            conn = self._checkout(key) or self._connect(key, connect_t)
            try:
                response, reusable = self._exchange(conn, request, body, read_t, write_t)
            except BaseException:
                conn.close()
                raise
            if reusable:
                self._checkin(key, conn)
            else:
                conn.close()
            return response
        finally:
            self._release()

    @staticmethod
    def _write(conn: _Conn, request: httpx.Request, body: bytes, timeout: float | None) -> None:
        http_ = conn.http
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        try:
            conn.settimeout(timeout)
            http_.putrequest(request.method, request.url.raw_path.decode("ascii"),
                             skip_host=True, skip_accept_encoding=True)  # httpx sent both
            for name, value in request.headers.raw:
                # The body was read whole, so a streamed one goes out with a length.
                if chunked and name.lower() in (b"transfer-encoding", b"content-length"):
                    continue
                http_.putheader(name, value)
            if chunked or (body and "content-length" not in request.headers):
                http_.putheader(b"Content-Length", b"%d" % len(body))
            http_.body = body  # sent with the head, see _Coalescing
            http_.endheaders()
        except TimeoutError:
            raise httpx.WriteTimeout("writing the request timed out") from None
        except (ValueError, http.client.HTTPException) as exc:
            # An illegal header name or value, or method, caught before anything was written
            # (h11 raises this on the httpx path).
            raise httpx.LocalProtocolError(str(exc)) from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc

    def _exchange(self, conn: _Conn, request: httpx.Request, body: bytes,
                  read_t: float | None, write_t: float | None
                  ) -> tuple[httpx.Response, bool]:
        self._write(conn, request, body, write_t)
        answer: http.client.HTTPResponse | None = None
        try:
            conn.settimeout(read_t)
            answer = conn.http.getresponse()
            status = answer.status
            if 100 <= status < 200 and status != 101:
                raise httpx.RemoteProtocolError(f"unexpected informational answer {status}")
            if (answer.length is None and not answer.chunked
                    and answer.headers.get("content-length") is not None):
                raise httpx.RemoteProtocolError("bad Content-Length")
            content = answer.read()
        except TimeoutError:
            raise httpx.ReadTimeout("reading the answer timed out") from None
        except http.client.RemoteDisconnected:  # EOF before the status line
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.") from None
        except http.client.IncompleteRead:
            raise httpx.RemoteProtocolError("the server closed the connection mid-answer"
                                            ) from None
        except http.client.HTTPException as exc:  # bad status line, too many or long headers
            raise httpx.RemoteProtocolError(f"bad answer: {type(exc).__name__}: {exc}"
                                            ) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        finally:
            if answer is not None:
                answer.close()  # read whole or abandoned; it may own the socket after a close
        reusable = (not answer.will_close and status != 101
                    and request.headers.get("connection", "").lower() != "close")
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.getheaders()]
        response = httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(content), request=request,
            extensions={"http_version": b"HTTP/1.0" if answer.version == 10 else b"HTTP/1.1",
                        "reason_phrase": answer.reason.encode("latin-1", "replace")})
        return response, reusable

    def close(self) -> None:
        with self._cond:
            self._closed = True
            conns = [conn for idle in self._idle.values() for conn in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
