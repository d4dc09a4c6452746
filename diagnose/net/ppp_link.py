"""The test login's link: its two packet sockets, what arrives on them, and the link's own business.

A Link sends (never after its PADT, never past the budget, answers capped at MAX_REPLIES),
receives (only frames of the chosen AC and our session; a PADT or an LCP Terminate-Request ends
the login), answers what any stage must (Echo, Terminate, Code- and Protocol-Reject), keeps
control packets that arrive early for the stage that wants them, and registers the session's
PADT with ppp_close so it is never skipped. Retransmit is the one way every stage resends.
The stages themselves are in ppp_session.py.
"""
from __future__ import annotations

import itertools
import struct
import threading
from typing import Iterator

from ..clock import Clock
from . import ppp_close
from .l2 import drain, open_socket, set_send_timeout
from .ppp_frames import (
    CODE_REJ, CONTROL, DISCARD_REQ, ECHO_REPLY, ECHO_REQ, ETH_P_PPP_SES, LCP_MAX_CODE, MAX_TEXT,
    PROTO_IPCP, PROTO_LCP, PROTO_REJ, TERM_ACK, TERM_REQ, build_cp, build_padt, build_ppp,
    parse_cp, parse_padt, parse_ppp,
)
from .pppoe_discovery import ETH_P_PPP_DISC, clean_text, plan_windows

MAX_PENDING = 8  # packets kept for a later stage (a CHAP challenge that overtakes the LCP Ack)
MAX_REPLIES = 48  # answers we send per login (Acks, Echo-Replies, Rejects): never a flood amplifier
MAX_QUOTED = 64  # bytes of a received packet sent back (Echo data, Code- and Protocol-Reject)
RESTART_S = 1.0          # LCP / PAP / IPCP retransmit timer
MAX_REQUESTS = 3         # requests per stage before it is a timeout (so about 3 s per stage)
PADT_SEND_TIMEOUT_S = 0.2
CLOSED_POLL_S = 0.1      # how soon a login notices that close_all() (atexit) took its session

Packet = tuple[int, int, int, bytes]   # (PPP protocol, code, identifier, data)


class Stop(Exception):
    """The login ended here: outcome, the step it ended at, the server's message if any."""

    def __init__(self, outcome: str, step: str | None = None, message: str | None = None):
        super().__init__(outcome)
        self.outcome, self.step, self.message = outcome, step, message


class Retransmit:
    """The restart timer of one request (RFC 1661 section 4.6), the one way every stage resends:
    send, listen for the first window, send again, ..., until the windows are used up; the stage
    times out at `deadline`. A Nak or Reject that changes the request asks for it at once."""

    def __init__(self, clock, windows: list[float], deadline: float):
        self.clock, self.windows, self.deadline = clock, list(windows), deadline
        self.sent = 0
        self.next_at = clock.monotonic()

    def due(self) -> bool:
        """Time to (re)send the request."""
        return self.sent < len(self.windows) and self.clock.monotonic() >= self.next_at

    def sending(self) -> None:
        self.next_at = self.clock.monotonic() + self.windows[self.sent]
        self.sent += 1

    def resend_now(self) -> None:
        self.next_at = self.clock.monotonic()

    def expired(self) -> bool:
        return self.clock.monotonic() >= self.deadline

    def until(self) -> float:
        """Listen until then, and decide again: the next resend, else the deadline."""
        return min(self.deadline, self.next_at) if self.sent < len(self.windows) else self.deadline


class Link:
    """One PPPoE session's sockets and traffic. `step` names the stage for the Stop it raises;
    `stop_at` is when it stops waiting; `result` is the login's (padt_sent, padt_received, and
    what a stage records before it raises)."""

    def __init__(self, iface: str, mac: bytes, clock: Clock, stop_at: float, result: dict,
                 magic: int):
        self.iface, self.mac, self.clock, self.stop_at, self.r = iface, mac, clock, stop_at, result
        self.magic = magic                # ours, for Echo-Replies; LCP negotiation may change it
        self.disc = self.ses = None
        self.ac_mac: bytes | None = None
        self.session: int | None = None
        self.key: int | None = None       # our entry in ppp_close while the PADT is owed
        self.closed = threading.Event()   # set once the PADT is out: send nothing more
        self.lcp_open = False
        self.step = "PADI"
        self.pending: list[Packet] = []
        self.replies = 0
        self._ids = itertools.count(1)

    def open_discovery(self) -> None:
        self.disc = open_socket(self.iface, ETH_P_PPP_DISC, False)

    def open_session_socket(self) -> None:
        """Before the PADR, so nothing the AC sends right after its PADS is missed."""
        self.ses = open_socket(self.iface, ETH_P_PPP_SES, False)

    def owe_padt(self, session: int, host_uniq: bytes) -> None:
        """The AC gave us `session`: from now on its PADT is owed, whatever happens."""
        self.session = session
        padt = build_padt(self.mac, self.ac_mac, session, host_uniq)
        self.key = ppp_close.register(lambda: self._padt(padt), self.closed)

    def _padt(self, frame: bytes) -> None:
        set_send_timeout(self.disc.ins, PADT_SEND_TIMEOUT_S)
        self.disc.send(frame)
        self.r["padt_sent"] = True

    def close(self) -> None:
        """Send the PADT if owed (unless close_all() did) and close the sockets."""
        if self.key is not None:
            ppp_close.release(self.key)
        for sock in (self.disc, self.ses):
            if sock is not None:
                try:
                    sock.close()
                except Exception:  # noqa: BLE001
                    pass

    # -- sending

    def next_id(self) -> int:
        return next(self._ids) & 0xFF

    def send(self, sock, frame: bytes) -> None:
        if self.closed.is_set():
            raise Stop("interrupted", self.step)
        set_send_timeout(sock.ins, max(0.05, self.stop_at - self.clock.monotonic()))
        sock.send(frame)

    def send_discovery(self, frame: bytes) -> None:
        self.send(self.disc, frame)

    def send_ppp(self, proto: int, payload: bytes, *, reply: bool = False) -> None:
        """A PPP packet in our session; a reply (not a request of ours) counts against
        MAX_REPLIES and is dropped beyond it."""
        if reply:
            self.replies += 1
            if self.replies > MAX_REPLIES:
                return
        self.send(self.ses, build_ppp(self.mac, self.ac_mac, self.session, proto, payload))

    # -- timers

    def stage_deadline(self, seconds: float) -> float:
        return min(self.stop_at, self.clock.monotonic() + seconds)

    def timer(self, windows: list[float]) -> Retransmit:
        """The restart timer of a stage whose requests wait `windows`, inside the budget."""
        return Retransmit(self.clock, windows, self.stage_deadline(sum(windows)))

    def restart_timer(self) -> Retransmit:
        """A control protocol stage's timer: MAX_REQUESTS requests, RESTART_S apart."""
        return self.timer([RESTART_S] * MAX_REQUESTS)

    def planned(self, first: float, attempts: int) -> Retransmit:
        """Discovery's timer: first, x1.5, ..., shrunk to fit what is left of the budget."""
        return self.timer(plan_windows(first, attempts,
                                       max(0.05, self.stop_at - self.clock.monotonic())))

    # -- receiving

    def frames(self, until: float) -> Iterator[tuple[bool, bytes]]:
        """(is_discovery, frame) for what arrives before `until`."""
        fds = [self.disc.ins] + ([self.ses.ins] if self.ses is not None else [])
        while True:
            if self.closed.is_set():
                raise Stop("interrupted", self.step)
            wait = min(until, self.stop_at) - self.clock.monotonic()
            if wait <= 0:
                return
            ready = self.clock.wait(fds, min(wait, CLOSED_POLL_S))
            for fd in ready:
                for data, _ in drain(fd):
                    yield fd is self.disc.ins, data

    def packets(self, until: float, protos: tuple[int, ...]) -> Iterator[Packet]:
        """Control packets of `protos`, those kept from earlier first; others are kept."""
        index = 0
        while index < len(self.pending):
            if self.pending[index][0] in protos:
                yield self.pending.pop(index)
            else:
                index += 1
        for packet in self._live(until):
            if packet[0] in protos:
                yield packet
            elif len(self.pending) < MAX_PENDING:
                self.pending.append(packet)

    def _live(self, until: float) -> Iterator[Packet]:
        """Control packets of our session; the link's own business (echo, terminate, PADT,
        unknown protocols) is answered here."""
        for is_disc, frame in self.frames(until):
            if is_disc:
                padt = parse_padt(frame, self.ac_mac, self.session)
                if padt is not None:
                    self.r["padt_received"] = True
                    self.lcp_open = False
                    errors = padt["errors"]
                    raise Stop("terminated", self.step,
                               "PADT" + (f" {errors[0]['tag']}: {errors[0]['message']}"
                                         if errors else ""))
                continue
            parsed = parse_ppp(frame, self.ac_mac, self.session)
            if parsed is None:
                continue
            proto, payload = parsed
            if proto not in CONTROL:
                if self.lcp_open:  # e.g. IPV6CP or CCP: RFC 1661 wants a Protocol-Reject
                    self.send_ppp(PROTO_LCP, build_cp(
                        PROTO_REJ, self.next_id(), struct.pack("!H", proto) + payload[:MAX_QUOTED]),
                        reply=True)
                continue
            packet = parse_cp(payload)
            if packet is None:
                continue
            code, ident, data = packet
            if proto == PROTO_LCP and self._link_business(code, ident, data, payload):
                continue
            yield proto, code, ident, data

    def _link_business(self, code: int, ident: int, data: bytes, payload: bytes) -> bool:
        """LCP packets any stage must answer; True when handled here."""
        if code == ECHO_REQ:
            if self.lcp_open:
                self.send_ppp(PROTO_LCP, build_cp(ECHO_REPLY, ident, struct.pack(
                    "!I", self.magic) + data[4:MAX_QUOTED]), reply=True)
            return True
        if code == TERM_REQ:
            self.send_ppp(PROTO_LCP, build_cp(TERM_ACK, ident), reply=True)
            self.lcp_open = False
            raise Stop("terminated", self.step, clean_text(data, MAX_TEXT) or None)
        if code == PROTO_REJ:
            if data[:2] == struct.pack("!H", PROTO_IPCP):
                raise Stop("ipcp_failed", "IPCP", "IPCP rejected")
            return True
        if code == TERM_ACK and self.step == "close":
            return False   # the answer the session's Terminate-Request waits for
        if code in (ECHO_REPLY, DISCARD_REQ, CODE_REJ, TERM_ACK):
            return True
        if code > LCP_MAX_CODE or code == 0:
            self.send_ppp(PROTO_LCP, build_cp(CODE_REJ, self.next_id(), payload[:MAX_QUOTED]),
                          reply=True)
            return True
        return False
