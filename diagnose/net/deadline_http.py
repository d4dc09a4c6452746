"""HTTP through requests under a hard deadline for the whole exchange, without a watchdog thread.

requests' timeouts bound each wait for a byte, not the exchange: a server that sends one byte
a second keeps a connection alive for ever. Here every socket an exchange opens is wrapped so
that each send and receive may wait only until the deadline: past it, the next wait raises a
timeout (requests' ConnectTimeout/ReadTimeout or ConnectionError), whatever the server does.
The deadline is a moment of an injectable clock (``monotonic``), and can be moved between the
requests of one session (one deadline per attempt).
"""
from __future__ import annotations

import io
import socket
import time
from typing import Any, Callable

Monotonic = Callable[[], float]


class Deadline:
    """A moment (of `clock`) after which no socket of the session may wait."""

    def __init__(self, at: float, clock: Monotonic = time.monotonic):
        self.at, self.clock = at, clock

    def remaining(self) -> float:
        return self.at - self.clock()

    def wait(self, wanted: float | None) -> float:
        """The timeout for one socket operation: what the caller wanted, cut at the deadline."""
        left = self.remaining()
        if left <= 0:
            raise TimeoutError("the exchange's deadline has passed")
        return left if wanted is None else min(wanted, left)


class DeadlineSocket:
    """A socket (plain or TLS) whose every wait ends by the deadline. Only what http.client and
    urllib3 use is wrapped; the rest is passed through."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self._sock, self._deadline = sock, deadline
        self._timeout: float | None = sock.gettimeout()
        # Like socket.socket: close() waits until the files made by makefile() are closed too
        # (http.client closes the connection while the response is still being read).
        self._readers = 0
        self._close_pending = False

    def settimeout(self, value: float | None) -> None:
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        self._sock.settimeout(self._deadline.wait(self._timeout))

    def sendall(self, data, *args) -> None:
        view = memoryview(data).cast("B")
        while view:   # one bounded wait per chunk: a peer that reads slowly cannot stretch it
            self._arm()
            sent = self._sock.send(view[:65536], *args)
            view = view[sent:]

    def send(self, data, *args) -> int:
        self._arm()
        return self._sock.send(data, *args)

    def recv(self, size: int, *args) -> bytes:
        self._arm()
        return self._sock.recv(size, *args)

    def recv_into(self, buffer, *args) -> int:
        self._arm()
        return self._sock.recv_into(buffer, *args)

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any):
        if "b" not in mode or "w" in mode:
            raise ValueError("only binary reading is supported")
        self._readers += 1
        return io.BufferedReader(_Reader(self), buffering or io.DEFAULT_BUFFER_SIZE)

    def close(self) -> None:
        self._close_pending = True
        if self._readers <= 0:
            self._sock.close()

    def _reader_closed(self) -> None:
        self._readers -= 1
        if self._close_pending and self._readers <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:   # fileno, close, shutdown, getpeercert, ...
        return getattr(self._sock, name)


class _Reader(io.RawIOBase):
    def __init__(self, sock: DeadlineSocket):
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock._reader_closed()
        super().close()


def session(deadline: Deadline, *, trust_env: bool = False, pool_kwargs: dict | None = None):
    """A requests session (no retries) whose connections, direct or through a proxy, all run
    under `deadline`. pool_kwargs go to urllib3's pools (e.g. server_hostname for a pinned
    address)."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Bounded(HTTPConnection):
        def connect(self):
            self.timeout = deadline.wait(_seconds(self.timeout))
            super().connect()
            self.sock = DeadlineSocket(self.sock, deadline)

    class BoundedTLS(HTTPSConnection):
        def connect(self):
            self.timeout = deadline.wait(_seconds(self.timeout))
            super().connect()
            self.sock = DeadlineSocket(self.sock, deadline)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Bounded

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = BoundedTLS

    classes = {"http": Pool, "https": TLSPool}

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **{**kwargs, **(pool_kwargs or {})})
            self.poolmanager.pool_classes_by_scheme = classes

        def proxy_manager_for(self, proxy, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = classes
            return manager

    result = requests.Session()
    result.trust_env = trust_env
    for prefix in ("http://", "https://"):
        result.mount(prefix, Adapter(max_retries=0))
    return result


def _seconds(timeout: Any) -> float | None:
    """urllib3 keeps a connection's timeout as a number or as its default sentinel."""
    return float(timeout) if isinstance(timeout, (int, float)) else None
