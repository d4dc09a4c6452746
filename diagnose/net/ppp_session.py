"""PPPoE test login in user space: PADI/PADO, PADR/PADS, LCP, PAP or CHAP-MD5, IPCP, then PADT.

Only for --pppoe-login. The kernel's PPP is not used (it may not even exist): frames
(diagnose/net/ppp_frames.py) go through two packet sockets bound to the PPPoE ethertypes, and
anything from another MAC or for another session is dropped. Every request is resent by one
mechanism, Retransmit. Once a PADS gave a session id the PADT is never skipped
(diagnose/net/ppp_close.py). Time and waiting come from a Clock, which tests replace so that a
timeout costs them nothing.

scapy is imported lazily (only the packet socket, through l2.open_socket).
"""
from __future__ import annotations

import os
import struct
import threading
import itertools
from typing import Iterator

from ..clock import SYSTEM, Clock
from . import ppp_close
from .l2 import describe_error, drain, ethernet_hwaddr, is_unicast_mac, open_socket, parse_mac, \
    set_send_timeout
from .ppp_frames import (
    CHAP_CHALLENGE, CHAP_FAILURE, CHAP_SUCCESS, CODE_REJ, CONF_ACK, CONF_NAK, CONF_REJ, CONF_REQ,
    CONTROL, DISCARD_REQ, ECHO_REPLY, ECHO_REQ, ETH_P_PPP_SES, LCP_MAX_CODE, MAX_MRU, MAX_TEXT,
    MIN_MRU, OPT_DNS1, OPT_DNS2, OPT_IP, OPT_MAGIC, OPT_MRU, OUR_MRU, PAP_ACK, PAP_NAK, PROTO_CHAP,
    PROTO_IPCP, PROTO_LCP, PROTO_PAP, PROTO_REJ, TERM_ACK, TERM_REQ, build_cp, build_options,
    build_padr, build_padt, build_ppp, chap_md5, chap_response, ipv4, lcp_answer, pap_message,
    pap_request, parse_chap_challenge, parse_cp, parse_options, parse_pads, parse_padt, parse_ppp,
)
from .ppp_secrets import scrub_tree
from .pppoe_discovery import (
    ETH_P_PPP_DISC, HOST_UNIQ_LEN, build_padi, clean_text, parse_pado, plan_windows,
)

MAX_PENDING = 8  # packets kept for a later stage (a CHAP challenge that overtakes the LCP Ack)
MAX_REPLIES = 48  # answers we send per login (Acks, Echo-Replies, Rejects): never a flood amplifier
MAX_ROUNDS = 6   # Configure-Nak/Reject rounds and CHAP challenges before we give up
TERMINATE_TEXT = b"diagnose: test login done"

# Timing. A live AC answers each step within milliseconds; the waits ride over a lost frame or
# a slow RADIUS server and keep the whole login inside its budget (pppd waits 3 s per try, ten
# tries: far too long for a diagnosis).
PADO_WAIT_S = 0.5        # per PADI (x1.5 on the retry): the discovery just before saw the AC
PADI_ATTEMPTS = 2
PADR_WAIT_S = 0.5        # per PADR, x1.5 per retry
PADR_ATTEMPTS = 3
RESTART_S = 1.0          # LCP / PAP / IPCP retransmit timer
MAX_REQUESTS = 3         # requests per stage before it is a timeout (so about 3 s per stage)
CHAP_WAIT_S = 3.0        # the AC sends the challenge: this long for it and the verdict
IPCP_PEER_GRACE_S = 0.3  # our address is acked: this long for the AC's own IPCP request
TERMINATE_WAIT_S = 0.2   # for the LCP Terminate-Ack before the PADT
CLOSE_RESERVE_S = 0.3    # kept back from the budget so the orderly close always fits
PADT_SEND_TIMEOUT_S = 0.2
CLOSED_POLL_S = 0.1      # how soon a login notices that close_all() (atexit) took its session



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


class Stop(Exception):
    """The login ended here: outcome, the step it ended at, the server's message if any."""

    def __init__(self, outcome: str, step: str | None = None, message: str | None = None):
        super().__init__(outcome)
        self.outcome, self.step, self.message = outcome, step, message




# ---------------------------------------------------------------- the login

class _Login:
    """One test session. Not reusable; run() raises Stop with the outcome, close() always runs."""

    def __init__(self, iface: str, mac: bytes, creds, stop_at: float, service: bytes,
                 ac_name: str | None, result: dict, clock: Clock):
        self.iface, self.mac, self.creds, self.stop_at = iface, mac, creds, stop_at
        self.clock = clock
        self.service, self.ac_name, self.r = service, ac_name, result
        self.host_uniq = os.urandom(HOST_UNIQ_LEN)
        self.magic = struct.unpack("!I", os.urandom(4))[0] or 1
        self.disc = self.ses = None
        self.ac_mac: bytes | None = None
        self.session: int | None = None
        self.key: int | None = None
        self.closed = threading.Event()   # set once the PADT is out: send nothing more
        self.lcp_open = False
        self.step = "PADI"
        self.pending: list[tuple[int, int, int, bytes]] = []
        self.replies = 0
        self._ids = itertools.count(1)

    # -- plumbing

    def _next_id(self) -> int:
        return next(self._ids) & 0xFF

    def _send(self, sock, frame: bytes) -> None:
        if self.closed.is_set():
            raise Stop("interrupted", self.step)
        set_send_timeout(sock.ins, max(0.05, self.stop_at - self.clock.monotonic()))
        sock.send(frame)

    def _send_ppp(self, proto: int, payload: bytes, *, reply: bool = False) -> None:
        if reply:
            self.replies += 1
            if self.replies > MAX_REPLIES:
                return
        self._send(self.ses, build_ppp(self.mac, self.ac_mac, self.session, proto, payload))

    def _frames(self, until: float) -> Iterator[tuple[bool, bytes]]:
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

    def _live(self, until: float) -> Iterator[tuple[int, int, int, bytes]]:
        """Control packets of our session; the link's own business (echo, terminate, PADT,
        unknown protocols) is answered here."""
        for is_disc, frame in self._frames(until):
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
                    self._send_ppp(PROTO_LCP, build_cp(PROTO_REJ, self._next_id(),
                                                       struct.pack("!H", proto) + payload[:64]),
                                   reply=True)
                continue
            packet = parse_cp(payload)
            if packet is None:
                continue
            code, ident, data = packet
            if proto == PROTO_LCP and self._link(code, ident, data, payload):
                continue
            yield proto, code, ident, data

    def _link(self, code: int, ident: int, data: bytes, payload: bytes) -> bool:
        """LCP packets any stage must answer; True when handled here."""
        if code == ECHO_REQ:
            if self.lcp_open:
                self._send_ppp(PROTO_LCP, build_cp(ECHO_REPLY, ident,
                                                   struct.pack("!I", self.magic) + data[4:64]),
                               reply=True)
            return True
        if code == TERM_REQ:
            self._send_ppp(PROTO_LCP, build_cp(TERM_ACK, ident), reply=True)
            self.lcp_open = False
            raise Stop("terminated", self.step, clean_text(data, MAX_TEXT) or None)
        if code == PROTO_REJ:
            if data[:2] == struct.pack("!H", PROTO_IPCP):
                raise Stop("ipcp_failed", "IPCP", "IPCP rejected")
            return True
        if code == TERM_ACK and self.step == "close":
            return False   # the answer _terminate() waits for
        if code in (ECHO_REPLY, DISCARD_REQ, CODE_REJ, TERM_ACK):
            return True
        if code > LCP_MAX_CODE or code == 0:
            self._send_ppp(PROTO_LCP, build_cp(CODE_REJ, self._next_id(), payload[:64]),
                           reply=True)
            return True
        return False

    def _packets(self, until: float, protos: tuple[int, ...]):
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

    def _stage_deadline(self, seconds: float) -> float:
        return min(self.stop_at, self.clock.monotonic() + seconds)

    def _timer(self, windows: list[float]) -> Retransmit:
        """The restart timer of a stage whose requests wait `windows`, inside the budget."""
        return Retransmit(self.clock, windows, self._stage_deadline(sum(windows)))

    def _planned(self, first: float, attempts: int) -> list[float]:
        """Discovery's windows: first, x1.5, ..., shrunk to fit what is left of the budget."""
        return plan_windows(first, attempts, max(0.05, self.stop_at - self.clock.monotonic()))

    # -- stages

    def run(self) -> None:
        self.disc = open_socket(self.iface, ETH_P_PPP_DISC, False)
        self._discover()
        self.ses = open_socket(self.iface, ETH_P_PPP_SES, False)
        self._request_session()
        self._lcp()
        self._authenticate()
        self._ipcp()
        self.r["outcome"], self.r["step"] = "connected", None

    def _discover(self) -> None:
        self.step = "PADI"
        timer = self._timer(self._planned(PADO_WAIT_S, PADI_ATTEMPTS))
        while not timer.expired():
            if timer.due():
                timer.sending()
                self._send(self.disc, build_padi(self.mac, self.host_uniq, self.service))
            for is_disc, frame in self._frames(timer.until()):
                info = parse_pado(frame, self.host_uniq) if is_disc else None
                if info is None or (self.ac_name and info["name"] != self.ac_name):
                    continue
                self.ac_mac = bytes.fromhex(info["ac_mac"].replace(":", ""))
                self.pado = info
                self.r["ac"] = {"name": info["name"], "mac": info["ac_mac"],
                                "services": info["services"], "has_cookie": info["has_cookie"]}
                return
        raise Stop("no_pado", "PADI")

    def _request_session(self) -> None:
        self.step = "PADR"
        padr = build_padr(self.mac, self.ac_mac, self.host_uniq, self.service,
                          self.pado["cookie"], self.pado["relay_id"])
        timer = self._timer(self._planned(PADR_WAIT_S, PADR_ATTEMPTS))
        while not timer.expired():
            if timer.due():
                timer.sending()
                self._send(self.disc, padr)
            for is_disc, frame in self._frames(timer.until()):
                pads = parse_pads(frame, self.host_uniq, self.ac_mac) if is_disc else None
                if pads is None:
                    continue
                if pads["errors"] or pads["session"] == 0:
                    error = (pads["errors"] or [{"tag": None, "message": ""}])[0]
                    self.r["pads_error"] = error
                    if pads["session"]:   # an AC that named a session anyway gets its PADT
                        self.session = self.r["session_id"] = pads["session"]
                        padt = build_padt(self.mac, self.ac_mac, self.session, self.host_uniq)
                        self.key = ppp_close.register(lambda: self._padt(padt), self.closed)
                    text = f"{error['tag'] or 'no session id'}: {error['message']}"
                    raise Stop("pads_error", "PADS", text.rstrip(": "))
                self.session = pads["session"]
                self.r["session_id"] = self.session
                padt = build_padt(self.mac, self.ac_mac, self.session, self.host_uniq)
                self.key = ppp_close.register(lambda: self._padt(padt), self.closed)
                return
        raise Stop("pads_timeout", "PADR")

    def _padt(self, frame: bytes) -> None:
        set_send_timeout(self.disc.ins, PADT_SEND_TIMEOUT_S)
        self.disc.send(frame)
        self.r["padt_sent"] = True

    def _lcp(self) -> None:
        self.step = "LCP"
        lcp = self.r["lcp"]
        ours = [(OPT_MRU, struct.pack("!H", OUR_MRU)), (OPT_MAGIC, struct.pack("!I", self.magic))]
        timer = self._timer([RESTART_S] * MAX_REQUESTS)
        acked = peer_acked = False
        rounds = 0
        req_id = None
        lcp.update(requests_sent=0, received=0)
        while not (acked and peer_acked):
            if timer.expired():
                raise Stop("lcp_timeout", "LCP")
            if not acked and timer.due():
                req_id = self._next_id()
                timer.sending()
                self._send_ppp(PROTO_LCP, build_cp(CONF_REQ, req_id, build_options(ours)))
                lcp["requests_sent"] = timer.sent
            until = timer.deadline if acked else timer.until()
            for _, code, ident, data in self._packets(until, (PROTO_LCP,)):
                lcp["received"] += 1
                if code == CONF_REQ:
                    options = parse_options(data)
                    if options is None:
                        continue
                    answer, reply, asked = lcp_answer(options, self.magic)
                    lcp.update({k: v for k, v in asked.items()})
                    self._send_ppp(PROTO_LCP, build_cp(answer, ident, reply), reply=True)
                    peer_acked = answer == CONF_ACK
                    if not peer_acked:
                        rounds += 1
                elif ident != req_id:
                    continue
                elif code == CONF_ACK and data == build_options(ours):
                    acked = True
                elif code in (CONF_NAK, CONF_REJ):
                    options = parse_options(data) or []
                    rounds += 1
                    ours = self._adjust(ours, options, code)
                    timer.resend_now()
                if rounds > MAX_ROUNDS:
                    if str(lcp.get("auth", "")).startswith("unsupported"):
                        raise Stop("auth_unsupported", "LCP", lcp["auth"])
                    raise Stop("lcp_failed", "LCP", "no agreement on the link options")
                if acked and peer_acked or (not acked and timer.due()):
                    break
        self.lcp_open = True
        lcp["opened"] = True
        lcp["our_mru"] = struct.unpack("!H", dict(ours).get(OPT_MRU, struct.pack("!H", 1500)))[0]

    def _adjust(self, ours, options, code):
        """Our LCP request after a Nak (take the AC's MRU if sane, a new magic) or Reject."""
        if code == CONF_REJ:
            rejected = {kind for kind, _ in options}
            return [(k, v) for k, v in ours if k not in rejected]
        adjusted = dict(ours)
        for kind, value in options:
            if kind == OPT_MRU and len(value) == 2 and \
                    MIN_MRU <= struct.unpack("!H", value)[0] <= MAX_MRU:
                adjusted[OPT_MRU] = value
            elif kind == OPT_MAGIC and OPT_MAGIC in adjusted:
                self.magic = struct.unpack("!I", os.urandom(4))[0] or 1
                adjusted[OPT_MAGIC] = struct.pack("!I", self.magic)
        return [(k, adjusted[k]) for k, _ in ours]

    def _authenticate(self) -> None:
        protocol = self.r["lcp"].get("auth")
        if protocol is None:
            self.r["auth"] = {"protocol": None, "outcome": "none", "message": None}
            return
        if protocol not in ("pap", "chap-md5"):
            raise Stop("auth_unsupported", "LCP", protocol)
        self.r["auth"] = {"protocol": protocol, "outcome": None, "message": None}
        user = self.creds.user.encode("utf-8")
        if protocol == "pap":
            self._pap(user, (self.creds.secret("pap") or "").encode("utf-8"))
        else:
            self._chap(user, (self.creds.secret("chap") or "").encode("utf-8"))
        self.r["auth"]["outcome"] = "ok"

    def _pap(self, user: bytes, password: bytes) -> None:
        self.step = "PAP"
        timer = self._timer([RESTART_S] * MAX_REQUESTS)
        ident = self._next_id()
        request = pap_request(ident, user, password)
        while True:
            if timer.expired():
                raise Stop("auth_timeout", "PAP")
            if timer.due():
                timer.sending()
                self._send_ppp(PROTO_PAP, request)
            for _, code, rid, data in self._packets(timer.until(), (PROTO_PAP,)):
                if rid != ident or code not in (PAP_ACK, PAP_NAK):
                    continue
                message = pap_message(data) or None
                self.r["auth"]["message"] = message
                if code == PAP_NAK:
                    self.r["auth"]["outcome"] = "refused"
                    raise Stop("auth_refused", "PAP", message)
                return

    def _chap(self, user: bytes, secret: bytes) -> None:
        self.step = "CHAP"
        deadline = self._stage_deadline(CHAP_WAIT_S)
        answered: set[int] = set()
        while True:
            if self.clock.monotonic() >= deadline:
                raise Stop("auth_timeout", "CHAP")
            for _, code, ident, data in self._packets(deadline, (PROTO_CHAP,)):
                if code == CHAP_CHALLENGE:
                    challenge = parse_chap_challenge(data)
                    if challenge is None or len(answered) >= MAX_ROUNDS:
                        continue
                    answered.add(ident)
                    self._send_ppp(PROTO_CHAP, chap_response(
                        ident, chap_md5(ident, secret, challenge[0]), user))
                elif code in (CHAP_SUCCESS, CHAP_FAILURE) and ident in answered:
                    message = clean_text(data, MAX_TEXT) or None
                    self.r["auth"]["message"] = message
                    if code == CHAP_FAILURE:
                        self.r["auth"]["outcome"] = "refused"
                        raise Stop("auth_refused", "CHAP", message)
                    return

    def _ipcp(self) -> None:
        self.step = "IPCP"
        want = [(OPT_IP, bytes(4)), (OPT_DNS1, bytes(4)), (OPT_DNS2, bytes(4))]
        ipcp = self.r["ipcp"] = {"address": None, "peer": None, "dns": []}
        timer = self._timer([RESTART_S] * MAX_REQUESTS)
        acked_at = None
        peer_done = False
        rounds = 0
        req_id = None
        while True:
            now = self.clock.monotonic()
            if acked_at is not None and (peer_done or now >= min(timer.deadline,
                                                                 acked_at + IPCP_PEER_GRACE_S)):
                return  # we have an address; the AC's own request is not needed for that
            if timer.expired():
                raise Stop("ipcp_timeout", "IPCP")
            if acked_at is None and timer.due():
                req_id = self._next_id()
                timer.sending()
                self._send_ppp(PROTO_IPCP, build_cp(CONF_REQ, req_id, build_options(want)))
            until = (min(timer.deadline, acked_at + IPCP_PEER_GRACE_S) if acked_at is not None
                     else timer.until())
            for _, code, ident, data in self._packets(until, (PROTO_IPCP,)):
                options = parse_options(data) if code in (CONF_REQ, CONF_ACK, CONF_NAK,
                                                          CONF_REJ) else []
                if options is None:
                    continue
                if code == CONF_REQ:
                    known = [(k, v) for k, v in options if k == OPT_IP and len(v) == 4]
                    others = [(k, v) for k, v in options if (k, v) not in known]
                    if others:
                        self._send_ppp(PROTO_IPCP, build_cp(CONF_REJ, ident, build_options(others)),
                                       reply=True)
                        rounds += 1
                    else:
                        self._send_ppp(PROTO_IPCP, build_cp(CONF_ACK, ident, data), reply=True)
                        ipcp["peer"] = ipv4(known[0][1]) if known else None
                        peer_done = True
                elif code == TERM_REQ:
                    self._send_ppp(PROTO_IPCP, build_cp(TERM_ACK, ident), reply=True)
                    raise Stop("ipcp_failed", "IPCP", clean_text(data, MAX_TEXT) or None)
                elif ident != req_id or acked_at is not None:
                    continue
                elif code == CONF_ACK and data == build_options(want):
                    got = dict(want)
                    if got.get(OPT_IP, bytes(4)) == bytes(4):
                        raise Stop("ipcp_failed", "IPCP", "no address assigned")
                    ipcp["address"] = ipv4(got[OPT_IP])
                    ipcp["dns"] = [ipv4(got[k]) for k in (OPT_DNS1, OPT_DNS2)
                                   if got.get(k, bytes(4)) != bytes(4)]
                    acked_at = self.clock.monotonic()
                elif code == CONF_NAK:
                    current = dict(want)
                    for kind, value in options:
                        if kind in current and len(value) == 4:
                            current[kind] = value
                    want = [(k, current[k]) for k, _ in want]
                    rounds += 1
                    timer.resend_now()
                elif code == CONF_REJ:
                    rejected = {kind for kind, _ in options}
                    if OPT_IP in rejected:
                        raise Stop("ipcp_failed", "IPCP", "address option rejected")
                    want = [(k, v) for k, v in want if k not in rejected]
                    rounds += 1
                    timer.resend_now()
                if rounds > MAX_ROUNDS:
                    raise Stop("ipcp_failed", "IPCP", "no agreement on the address")
                if acked_at is not None or timer.due():
                    break   # the loop's top decides again (done, resend, or a shorter wait)

    # -- the end

    def close(self) -> None:
        """LCP Terminate (if the link is open and time is left), then the PADT; sockets closed."""
        try:
            if self.key is not None and self.lcp_open and not self.closed.is_set():
                self._terminate()
        except Exception:  # noqa: BLE001 - whatever happens, the PADT below goes out
            pass
        finally:
            if self.key is not None:
                ppp_close.release(self.key)
            for sock in (self.disc, self.ses):
                if sock is not None:
                    try:
                        sock.close()
                    except Exception:  # noqa: BLE001
                        pass

    def _terminate(self) -> None:
        self.step = "close"
        ident = self._next_id()
        self.stop_at = self.clock.monotonic() + TERMINATE_WAIT_S  # inside CLOSE_RESERVE_S
        self._send_ppp(PROTO_LCP, build_cp(TERM_REQ, ident, TERMINATE_TEXT))
        try:
            for _, code, rid, _ in self._packets(self.stop_at, (PROTO_LCP,)):
                if code == TERM_ACK and rid == ident:
                    self.r["terminate_acked"] = True
                    return
        except Stop:
            return


def login(iface: str, *, creds, budget: float, src_mac: str | None = None, service: str = "",
          ac_name: str | None = None, clock: Clock | None = None) -> dict:
    """One test login on iface; never raises (except KeyboardInterrupt/SystemExit, after the PADT).

    budget: seconds for everything, the orderly close included. Returns {"outcome":
    "connected"|"no_pado"|"pads_error"|"pads_timeout"|"lcp_timeout"|"lcp_failed"|
    "auth_unsupported"|"auth_refused"|"auth_timeout"|"ipcp_timeout"|"ipcp_failed"|"terminated"|
    "interrupted"|"error", "step", "message", "ac", "session_id", "pads_error", "lcp", "auth",
    "ipcp", "padt_sent", "elapsed_ms", "error"}, with both halves of the account scrubbed from
    every string.
    """
    clock = clock or SYSTEM
    started = clock.monotonic()
    result: dict = {"outcome": "error", "step": None, "message": None, "ac": None,
                    "session_id": None, "pads_error": None, "lcp": {}, "auth": None,
                    "ipcp": None, "padt_sent": False, "elapsed_ms": 0, "error": None}
    secrets = [getattr(creds, "pap", None), getattr(creds, "chap", None)]
    user = getattr(creds, "user", None)
    session = None
    try:
        if not user or not (isinstance(budget, (int, float)) and budget > CLOSE_RESERVE_S):
            result["error"] = "invalid arguments: need a user and a budget over %.1f s" % (
                CLOSE_RESERVE_S)
            raise Stop("error")
        mac, error = ethernet_hwaddr(iface)
        if error:
            result["error"] = error
            raise Stop("error")
        if src_mac is not None:
            mac = parse_mac(src_mac)
            if mac is None or not is_unicast_mac(mac):
                result["error"] = "invalid src_mac"
                raise Stop("error")
        session = _Login(iface, mac, creds, started + budget - CLOSE_RESERVE_S,
                         (service or "").encode("utf-8")[:255], ac_name, result, clock)
        session.run()
    except Stop as stop:
        result.update(outcome=stop.outcome, step=stop.step, message=stop.message)
    except Exception as exc:  # noqa: BLE001 - never raise to the check
        result.update(outcome="error", step=session.step if session else None,
                      error=describe_error(exc, iface))
    finally:
        if session is not None:
            session.close()
        result["elapsed_ms"] = int((clock.monotonic() - started) * 1000)
    return scrub_tree(result, user, secrets)
