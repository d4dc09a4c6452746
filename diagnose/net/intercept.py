"""Does every TCP connection succeed, wherever it goes? Then the network intercepts.

A few TCP connections go, all at once, to addresses that exist nowhere (RFC 5737 documentation
addresses, never routed on the internet) on ports nothing listens on. On an ordinary network none
is accepted: no answer, or "unreachable" from a router on the way. A network that takes every
connection itself (a hotel or company gateway, a filtering box, a login or notice page that
redirects all TCP) accepts them, within milliseconds. Observations only, never raises; no
privilege needed. The rules say how many accepted mean interception.

The connects are started (`start`) before the caller's own work and read (`Pending.finish`) after
it: they cost no time of their own. An intercepting device also stands in the way of the caller's
fetches, which need more round trips through it than one handshake, so by the time those are done
it has accepted; a probe still pending then was not accepted.
"""
from __future__ import annotations

import errno
import select
import socket
import struct
import sys
import time
from typing import Any

# Addresses in TEST-NET-1 (192.0.2.0/24, RFC 5737) and unassigned or unlikely ports, each pair
# different, so one real host or one forwarded port cannot look like interception.
PROBES = (("192.0.2.1", 9), ("192.0.2.73", 4739), ("192.0.2.211", 64999))
# The least time the connects get, however fast the caller's own work ended (e.g. at once, with no
# route): an intercepting device in the home or the access network accepts within it.
MIN_WAIT_S = 0.05
_IN_PROGRESS = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK)
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def _outcome(code: int) -> str:
    if code == 0:
        return "open"
    if code == errno.ECONNREFUSED:
        return "refused"
    if code in _UNREACHABLE:
        return "unreachable"
    return "timeout" if code == errno.ETIMEDOUT else "error"


def handshake_ms(sock: socket.socket) -> float | None:
    """How long the accepted connection's handshake took (the kernel's first round-trip sample,
    tcpi_rtt of TCP_INFO), however late it was read; None where the kernel does not say."""
    if sys.platform != "linux":
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return round(struct.unpack_from("I", info, 68)[0] / 1000.0, 2)   # tcpi_rtt, microseconds
    except (OSError, struct.error):
        return None


class Pending:
    """The connects in flight; `finish` reads them and closes every socket."""

    def __init__(self, probes=PROBES, clock=time.monotonic):
        self.clock = clock
        self.started = clock()
        self.entries: list[dict[str, Any]] = []
        for address, port in probes:
            entry: dict[str, Any] = {"address": address, "port": port, "outcome": None,
                                     "ms": None, "handshake_ms": None, "sock": None}
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                # Close with a reset: nothing half-open left on an intercepting device.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                code = sock.connect_ex((address, port))
            except OSError as exc:
                entry["outcome"] = _outcome(exc.errno or -1)
            else:
                if code in _IN_PROGRESS:
                    entry["sock"] = sock
                else:
                    entry["outcome"] = _outcome(code)
                    entry["ms"] = self._ms()
                    sock.close()
            self.entries.append(entry)

    def _ms(self) -> float:
        return round((self.clock() - self.started) * 1000, 1)

    def finish(self, until: float | None = None) -> dict[str, Any]:
        """The facts, waiting for pending connects until `until` (at least MIN_WAIT_S after the
        start); what is still pending then was not accepted (timeout)."""
        until = max(until or 0.0, self.started + MIN_WAIT_S)
        try:
            while True:
                pending = {e["sock"]: e for e in self.entries if e["sock"] is not None}
                if not pending:
                    break
                wait = until - self.clock()
                _, ready, _ = select.select([], list(pending), [], max(0.0, wait))
                for sock in ready:
                    entry = pending[sock]
                    entry["outcome"] = _outcome(sock.getsockopt(socket.SOL_SOCKET,
                                                                socket.SO_ERROR))
                    entry["ms"] = self._ms()
                    if entry["outcome"] == "open":
                        entry["handshake_ms"] = handshake_ms(sock)
                    sock.close()
                    entry["sock"] = None
                if not ready and wait <= 0:
                    break
        finally:
            for entry in self.entries:
                if entry["sock"] is not None:
                    entry["sock"].close()
                    entry["sock"] = None
                    entry["outcome"] = "timeout"
                    entry["ms"] = self._ms()
        probes = [{k: e[k] for k in ("address", "port", "outcome", "ms", "handshake_ms")}
                  for e in self.entries]
        accepted = [p for p in probes if p["outcome"] == "open"]
        handshakes = [p["handshake_ms"] for p in accepted if p["handshake_ms"] is not None]
        return {
            "probes": probes,
            "probed": sum(1 for p in probes if p["outcome"] != "error"),   # error: none made
            "accepted": len(accepted),
            # ms: when the outcome was read (after the caller's work); the handshake's own time
            # says how close the accepting device is. None: not observed.
            "slowest_accept_ms": max(handshakes, default=None),
            "waited_ms": self._ms(),
        }


def start(probes=PROBES) -> Pending:
    return Pending(probes)
