"""A DNS server on loopback for unit tests: answers each question with `reply(query) -> bytes`;
a reply of None stays silent (a dead resolver)."""
from __future__ import annotations

import socket
import threading


class StubResolver:
    def __init__(self, reply):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
                answer = self.reply(data)
                if answer is not None:
                    self.sock.sendto(answer, peer)
            except OSError:
                return

    def close(self):
        self.sock.close()
