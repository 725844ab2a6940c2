"""``signoff serve --workers N``: N server processes, each with its own socket on one port.

uvicorn's own workers share one listening socket, and whichever process wakes first accepts a
whole burst of connections: with keep-alive clients one process did all the work while the
other idled (measured: 1.02 and 0.01 CPUs busy). Here every worker listens on its own
``SO_REUSEPORT`` socket, so the kernel spreads connections across them. The sockets are bound
in this process first, so a taken port is one clear error before anything starts. A worker
that dies is restarted; SIGINT or SIGTERM stops them all gracefully; SIGHUP is passed to every
worker (policy reload).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

from signoff.config import Settings
from signoff.errors import ConfigurationError

__all__ = ["reuse_port_supported", "serve_workers"]

log = logging.getLogger("signoff.workers")


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if reuse_port:
            sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _bind_all(host: str, port: int, workers: int) -> list[socket.socket]:
    # A second `signoff serve` would otherwise join the first one's SO_REUSEPORT group and
    # silently take half its connections: a plain bind first fails if anyone holds the port.
    _listen(host, port, reuse_port=False).close()
    return [_listen(host, port, reuse_port=True) for _ in range(workers)]


def _worker(settings: Settings, sock: socket.socket, log_level: str) -> None:
    import uvicorn

    from signoff.api.app import create_app
    from signoff.bootstrap import build

    config = uvicorn.Config(create_app(build(settings)), log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(settings: Settings, *, host: str, port: int, workers: int,
                  log_level: str) -> None:
    sockets = _bind_all(host, port, workers)
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads

    def start(sock: socket.socket) -> Any:
        process = spawn.Process(target=_worker, args=(settings, sock, log_level),
                                name="signoff-worker")
        process.start()
        return process

    processes = [start(s) for s in sockets]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    def reload(signum: int, _frame: object) -> None:
        # `kill -HUP <this process>` reloads the policy in every worker, not only in one.
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reload)
    try:
        restarts: list[float] = []
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > 5 * workers:  # crashing in a loop: stop, do not spin
                    raise ConfigurationError("server workers keep exiting; see the log above")
                log.warning("worker %s exited with %s; starting another", process.pid,
                            process.exitcode)
                processes[i] = start(sockets[i])
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes requests in flight
        deadline = time.monotonic() + 30
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
