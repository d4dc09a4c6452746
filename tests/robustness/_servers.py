"""Hostile local servers for the run tests: each on 127.0.0.1, on a port of its own."""
from __future__ import annotations

import socket
import threading
import time


class Trickler:
    """An HTTP server that answers 200 and then sends its body one byte every `every` seconds,
    forever: a timeout per read never fires."""

    def __init__(self, every: float = 0.2, head: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"):
        self.every, self.head = every, head
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/generate_204"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            for byte in self.head:
                conn.sendall(bytes([byte]))
                time.sleep(self.every / 10)
            while not self.stopped.is_set():
                conn.sendall(b"x")
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
