"""A scripted HTTP server on plain blocking sockets, for the sync transport's tests: each
connection runs a handler in its own thread, which reads requests and writes raw bytes, so a
test decides exactly what reaches the client (framing, hang-ups, stalls)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Request:
    line: bytes
    fields: dict[bytes, bytes]
    body: bytes


class Peer:
    """The server side of one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._file = sock.makefile("rb")
        self.hung_up = threading.Event()  # read_request saw the client close the connection

    def read_request(self) -> Request | None:
        """The next request, or ``None`` once the client closed the connection."""
        try:
            line = self._file.readline()
            if not line:
                self.hung_up.set()
                return None
            fields: dict[bytes, bytes] = {}
            while (header := self._file.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                fields[name.strip().lower()] = value.strip()
            body = self._file.read(int(fields.get(b"content-length", b"0")))
        except OSError:  # reset by the client, or closed under us at the end of a test
            return None
        return Request(line.rstrip(b"\r\n"), fields, body)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def at_eof(self, timeout: float = 2.0) -> bool:
        """True if the client closes the connection within ``timeout`` seconds."""
        self.sock.settimeout(timeout)
        try:
            return self._file.read(1) == b""
        except (TimeoutError, OSError):
            return False

    def close(self) -> None:
        self._file.close()
        self.sock.close()


@dataclass
class Server:
    url: str
    connections: list[Peer] = field(default_factory=list)


def answer(body: bytes, *extra: bytes, status: bytes = b"200 OK",
           version: bytes = b"HTTP/1.1") -> bytes:
    head = [version + b" " + status, b"content-type: application/json",
            b"content-length: %d" % len(body), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@contextmanager
def serve(handler: Callable[[Peer], None], *, tls: ssl.SSLContext | None = None,
          rcvbuf: int | None = None) -> Iterator[Server]:
    """Run ``handler`` for each connection; yields the URL and the connections accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    if rcvbuf is not None:  # inherited by accepted sockets: lets a test fill the window
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    server = Server(f"{'https' if tls else 'http'}://127.0.0.1:{port}")
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def run(peer: Peer) -> None:
        try:
            handler(peer)
        except OSError:  # the client hung up on a scripted answer: part of some scenarios
            pass
        finally:
            peer.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            if tls is not None:
                try:
                    sock = tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):  # the client refused our certificate
                    sock.close()
                    continue
            peer = Peer(sock)
            server.connections.append(peer)
            thread = threading.Thread(target=run, args=(peer,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for peer in server.connections:  # wake handlers still blocked on a read
            try:
                peer.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(5)


def echo_json(peer: Peer, seen: list[Request] | None = None) -> None:
    """Answer every request on the connection with ``{"ok": true}`` (keep-alive)."""
    while (request := peer.read_request()) is not None:
        if seen is not None:
            seen.append(request)
        peer.send(answer(b'{"ok": true}'))
