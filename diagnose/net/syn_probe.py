"""Does a TCP connection leave this computer? One handshake, and what the kernel did with it.

A packet filter on this computer's output path that drops TCP hides it from connect(): the
kernel ignores the local refusal (EPERM) of the first SYN and retries it as if the network had
lost it, so the connect just times out like one to a dead host. The retry tells them apart:
Linux counts a retransmission in flight (`tcpi_retrans` of TCP_INFO) only once it was really
handed on, so a SYN retried (`tcpi_retransmits` >= 1) with none in flight never left this
computer, while one the network lost did. Never left is not yet refused: a SYN still waiting in
this computer's queues (for the ARP answer of a next hop that never answers) makes the kernel
skip its retry too, and then the socket still holds that copy's memory (SO_MEMINFO's
`wmem_alloc`), where a refused one was freed at once. (The namespace's counter
`TcpExt:TCPRetransFail` draws the same line, for every socket at once.) All of it is this one
socket's own state: other programs' traffic cannot touch it. Windows refuses a blocked connect
at once with WSAEACCES. Observations only, never raises.
"""
from __future__ import annotations

import errno
import selectors
import socket
import struct
import sys
from typing import Any, Callable

from ..clock import SYSTEM, Clock

# Linux's first SYN retransmission comes after its initial retransmission timeout (TCP_TIMEOUT_INIT,
# RFC 6298): a host that has not answered by then gets the SYN again, and only then can we tell.
SYN_RETRY_S = 1.0
# The retry's timer fires a few milliseconds late; on a loaded machine this process may look late
# too. Found, it returns at once, so the margin costs only a probe that sees no retry at all.
RETRY_GRACE_S = 0.4
WAIT_S = SYN_RETRY_S + RETRY_GRACE_S
POLL_S = 0.02
TCP_SYN_SENT = 2   # tcpi_state while the handshake is unanswered (linux/tcp_states.h)
# struct tcp_info (linux/tcp.h, a stable ABI) up to tcpi_retrans: eight u8 (state, ca_state,
# retransmits, ...) then u32 rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans.
_TCP_INFO_HEAD = struct.Struct("=8B8I")
# SO_MEMINFO (Linux 4.12, asm-generic/socket.h; Python does not name it): u32 counters, the third
# is wmem_alloc, the bytes of this socket's packets still held by this computer's queues.
SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)
_MEMINFO = struct.Struct("=9I")


def _codes(*names: str) -> frozenset[int]:
    """The errno values of these names that this platform has (Windows adds its WSA ones)."""
    return frozenset(getattr(errno, name) for name in names if hasattr(errno, name))


NOT_PERMITTED = _codes("EPERM", "EACCES", "WSAEACCES")
REFUSED = _codes("ECONNREFUSED", "WSAECONNREFUSED")
UNREACHABLE = _codes("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "WSAENETUNREACH",
                     "WSAEHOSTUNREACH", "WSAENETDOWN")
PENDING = _codes("EINPROGRESS", "EWOULDBLOCK", "EAGAIN", "WSAEWOULDBLOCK", "WSAEINPROGRESS")


def parse_tcp_info(raw: bytes, meminfo: bytes | None = None) -> dict[str, Any] | None:
    """state, retransmits (SYN retries so far), retrans (retransmissions that left) and held (bytes
    of its packets this computer still holds; None where SO_MEMINFO said nothing), or None."""
    if len(raw) < _TCP_INFO_HEAD.size:
        return None
    fields = _TCP_INFO_HEAD.unpack_from(raw)
    held = _MEMINFO.unpack_from(meminfo)[2] if meminfo and len(meminfo) >= _MEMINFO.size else None
    return {"state": fields[0], "retransmits": fields[2], "retrans": fields[15], "held": held}


def read_tcp_info(sock: socket.socket) -> dict[str, Any] | None:
    """This socket's TCP_INFO and SO_MEMINFO where the system has Linux's (None: not observed)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return None
    try:
        meminfo = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO.size)
    except OSError:   # before Linux 4.12: a refused retry cannot be told from a held one
        meminfo = None
    return parse_tcp_info(raw, meminfo)


def retry_fate(info: dict[str, Any] | None) -> str | None:
    """Once the SYN was retried: "left", "held_here" (never left, still queued on this computer,
    e.g. for the next hop's ARP answer) or "stopped_here" (never left, and nothing holds it:
    refused); None while that cannot be said."""
    if info is None or info["state"] != TCP_SYN_SENT or info["retransmits"] < 1:
        return None
    if info["retrans"]:
        return "left"
    if info["held"] is None:
        return None
    return "held_here" if info["held"] else "stopped_here"


# A retry's fate as the firewall check's send outcome: held_here is no refusal (the SYN waits for
# a next hop that does not answer, a matter for the gateway's checks), so it counts as not stopped.
RETRY_OUTCOME = {"left": "sent", "held_here": "held", "stopped_here": "not_permitted"}


def _answered(code: int) -> tuple[str, str]:
    """(connect outcome, send outcome) of a connect that ended with this error number."""
    if code == 0:
        return "open", "sent"
    if code in REFUSED:
        return "refused", "sent"          # the host (or something on the way) answered: it left
    if code in NOT_PERMITTED:
        return "not_permitted", "not_permitted"
    if code in UNREACHABLE:
        return "unreachable", "unreachable"
    return "error", "error"


def probe(address: str, port: int, wait: float = WAIT_S, *, clock: Clock = SYSTEM,
          read_info: Callable[[socket.socket], dict[str, int] | None] = read_tcp_info
          ) -> dict[str, Any]:
    """{to, proto, port, connect: open | refused | timeout | not_permitted | unreachable | error,
    outcome: sent | held | not_permitted | unreachable | error | not_run, ms}. `outcome` speaks
    as the firewall check's sends do: sent (it left this computer), held (still queued on it,
    not refused), not_permitted (stopped on it), not_run (not observed: no answer, and the retry
    was not seen by the deadline or the system does not say). An answered connect returns at
    once: a live network costs no wait."""
    result: dict[str, Any] = {"to": address, "proto": "tcp", "port": port}
    started = clock.monotonic()

    def done(connect: str, outcome: str, **more: Any) -> dict[str, Any]:
        return {**result, "connect": connect, "outcome": outcome, **more,
                "ms": round((clock.monotonic() - started) * 1000, 1)}

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        return done("error", "error", error=exc.strerror)
    with sock, selectors.DefaultSelector() as selector:
        sock.setblocking(False)
        try:
            code = sock.connect_ex((address, port))
        except OSError as exc:   # e.g. an address this family cannot take
            return done("error", "error", error=exc.strerror)
        if code not in PENDING:
            return done(*_answered(code))
        selector.register(sock, selectors.EVENT_WRITE)
        deadline, retry_due = started + wait, started + SYN_RETRY_S
        reason = "no retry seen by the deadline"
        while (now := clock.monotonic()) < deadline:
            # until the retry is due, wait for an answer; then look for the retry every POLL_S
            if clock.select(selector, min(deadline, max(retry_due, now + POLL_S)) - now):
                return done(*_answered(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
            if clock.monotonic() < retry_due:
                continue
            info = read_info(sock)
            fate = retry_fate(info)
            if fate is not None:
                return done("timeout", RETRY_OUTCOME[fate], retry=fate,
                            retransmits=info["retransmits"])
            if info is None or (info["retransmits"] and info["held"] is None):
                reason = "this system does not show whether the retry left"
                break
        return done("timeout", "not_run", reason=reason)
