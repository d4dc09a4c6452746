"""A DNS server on loopback for unit tests: answers each question with `reply(query) -> bytes`;
a reply of None stays silent (a dead resolver). Threaded by default; with threaded=False it
answers only when serve_pending() is called (a VirtualClock's `serve`), so no test waits."""
from __future__ import annotations

import socket
import threading


class StubResolver:
    def __init__(self, reply, threaded: bool = True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        if threaded:
            threading.Thread(target=self._serve, daemon=True).start()
        else:
            self.sock.setblocking(False)

    def _answer(self, data, peer):
        answer = self.reply(data)
        if answer is not None:
            self.sock.sendto(answer, peer)

    def _serve(self):
        while True:
            try:
                self._answer(*self.sock.recvfrom(512))
            except OSError:
                return

    def serve_pending(self):
        """Answer every question queued so far (threaded=False)."""
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except (BlockingIOError, InterruptedError):
                return
            self._answer(data, peer)

    def close(self):
        self.sock.close()
