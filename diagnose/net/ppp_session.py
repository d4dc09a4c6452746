"""PPPoE test login in user space: PADI/PADO, PADR/PADS, LCP, PAP or CHAP-MD5, IPCP, then PADT.

Only for --pppoe-login (RFC 2516, 1661, 1334, 1994, 1332, 1877). The kernel's PPP is not used
(it may not even exist): frames go through two packet sockets bound to the PPPoE ethertypes.
Every received frame is untrusted: parsed by hand with bounds checks; anything malformed, from
another MAC or for another session is dropped, and the answers we send are capped.

Once a PADS gave us a session id the PADT is never skipped: the session is registered in
_OPEN until its PADT is out. The normal path sends it in `finally`; when the process ends first
(Ctrl-C in the main thread while this runs in a check's daemon thread, or the runner's deadline)
the atexit hook close_all() sends it.

scapy is imported lazily (only the packet socket, through l2.open_socket).
"""
from __future__ import annotations

import atexit
import hashlib
import ipaddress
import itertools
import os
import select
import struct
import threading
import time
from typing import Callable, Iterator

from .l2 import describe_error, drain, ethernet_hwaddr, is_unicast_mac, open_socket, parse_mac, \
    set_send_timeout, ETH_HLEN
from .ppp_secrets import scrub_tree
from .pppoe_discovery import (
    ETH_MIN_FRAME, ETH_P_PPP_DISC, HOST_UNIQ_LEN, PPPOE_HLEN, PPPOE_VER_TYPE,
    TAG_AC_COOKIE, TAG_HOST_UNIQ, TAG_RELAY_SESSION_ID, TAG_SERVICE_NAME, build_padi, clean_text,
    error_tags, parse_discovery, parse_pado, plan_windows,
)

ETH_P_PPP_SES = 0x8864
CODE_SESSION, CODE_PADR, CODE_PADS, CODE_PADT = 0x00, 0x19, 0x65, 0xA7

PROTO_LCP, PROTO_PAP, PROTO_CHAP, PROTO_IPCP = 0xC021, 0xC023, 0xC223, 0x8021
CONTROL = (PROTO_LCP, PROTO_PAP, PROTO_CHAP, PROTO_IPCP)
CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ, TERM_REQ, TERM_ACK, CODE_REJ, PROTO_REJ = range(1, 9)
ECHO_REQ, ECHO_REPLY, DISCARD_REQ = 9, 10, 11
LCP_MAX_CODE = 11
OPT_MRU, OPT_AUTH, OPT_MAGIC = 1, 3, 5
CHAP_MD5 = 5
OPT_IP, OPT_DNS1, OPT_DNS2 = 3, 129, 131
PAP_REQ, PAP_ACK, PAP_NAK = 1, 2, 3
CHAP_CHALLENGE, CHAP_RESPONSE, CHAP_SUCCESS, CHAP_FAILURE = 1, 2, 3, 4

OUR_MRU = 1492   # 1500 minus the PPPoE and PPP headers (RFC 2516 section 7)
MIN_MRU = 64     # a peer asking for less could not even receive an LCP packet
MAX_MRU = 1500   # what an Ethernet frame carries without RFC 4638
MAX_TEXT = 120   # characters kept from a server's message
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


class Stop(Exception):
    """The login ended here: outcome, the step it ended at, the server's message if any."""

    def __init__(self, outcome: str, step: str | None = None, message: str | None = None):
        super().__init__(outcome)
        self.outcome, self.step, self.message = outcome, step, message


# ---------------------------------------------------------------- the PADT registry

_OPEN_LOCK = threading.Lock()
_OPEN: dict[int, tuple[Callable[[], None], threading.Event]] = {}
_KEYS = itertools.count(1)


def _register(send_padt: Callable[[], None], closed: threading.Event) -> int:
    key = next(_KEYS)
    with _OPEN_LOCK:
        _OPEN[key] = (send_padt, closed)
    return key


def _release(key: int) -> bool:
    """Send this session's PADT unless close_all() already did. True when sent here."""
    with _OPEN_LOCK:
        entry = _OPEN.pop(key, None)
        if entry is None:
            return False
        entry[1].set()
        _quietly(entry[0])
        return True


def close_all() -> int:
    """Send the PADT of every session still open (atexit; also safe to call by hand)."""
    with _OPEN_LOCK:
        entries = list(_OPEN.values())
        _OPEN.clear()
        for send_padt, closed in entries:
            closed.set()          # the login thread sends nothing more
            _quietly(send_padt)
    return len(entries)


def open_sessions() -> int:
    with _OPEN_LOCK:
        return len(_OPEN)


def _quietly(call: Callable[[], None]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - best effort at exit; the AC times the session out anyway
        pass


atexit.register(close_all)


# ---------------------------------------------------------------- frames (pure)

def tag(tag_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", tag_type, len(value)) + value


def pppoe_frame(dst: bytes, src: bytes, ethertype: int, code: int, session: int,
                payload: bytes) -> bytes:
    header = dst + src + struct.pack("!HBBHH", ethertype, PPPOE_VER_TYPE, code, session,
                                     len(payload))
    return (header + payload).ljust(ETH_MIN_FRAME, b"\x00")


def build_padr(src: bytes, dst: bytes, host_uniq: bytes, service: bytes,
               cookie: bytes | None = None, relay: bytes | None = None) -> bytes:
    tags = tag(TAG_SERVICE_NAME, service) + tag(TAG_HOST_UNIQ, host_uniq)
    if cookie is not None:
        tags += tag(TAG_AC_COOKIE, cookie)
    if relay is not None:
        tags += tag(TAG_RELAY_SESSION_ID, relay)
    return pppoe_frame(dst, src, ETH_P_PPP_DISC, CODE_PADR, 0, tags)


def build_padt(src: bytes, dst: bytes, session: int, host_uniq: bytes | None = None) -> bytes:
    tags = tag(TAG_HOST_UNIQ, host_uniq) if host_uniq else b""
    return pppoe_frame(dst, src, ETH_P_PPP_DISC, CODE_PADT, session, tags)


def parse_pads(frame: bytes, host_uniq: bytes, ac_mac: bytes) -> dict | None:
    """The chosen AC's PADS for our Host-Uniq -> {session, errors, service}, else None.

    A PADS without Host-Uniq is accepted from the chosen AC (some omit it); one with another
    Host-Uniq answers someone else. Session 0 or an error tag means the AC refused.
    """
    found = parse_discovery(frame)
    if found is None or found["code"] != CODE_PADS or found["src"] != ac_mac:
        return None
    tags = found["tags"]
    uniq = next((v for t, v in tags if t == TAG_HOST_UNIQ), None)
    if uniq is not None and uniq != host_uniq:
        return None
    service = next((v for t, v in tags if t == TAG_SERVICE_NAME), b"")
    return {"session": found["session"], "errors": error_tags(tags),
            "service": clean_text(service)}


def parse_padt(frame: bytes, ac_mac: bytes, session: int) -> dict | None:
    found = parse_discovery(frame)
    if (found is None or found["code"] != CODE_PADT or found["src"] != ac_mac
            or found["session"] != session):
        return None
    return {"errors": error_tags(found["tags"])}


def build_ppp(src: bytes, dst: bytes, session: int, proto: int, payload: bytes) -> bytes:
    return pppoe_frame(dst, src, ETH_P_PPP_SES, CODE_SESSION, session,
                       struct.pack("!H", proto) + payload)


def parse_ppp(frame: bytes, ac_mac: bytes, session: int) -> tuple[int, bytes] | None:
    """A session frame of ours from the AC -> (PPP protocol, payload), else None."""
    try:
        frame = bytes(frame)
        if len(frame) < ETH_HLEN + PPPOE_HLEN + 2 or frame[6:12] != ac_mac:
            return None
        ethertype, ver_type, code, sid, length = struct.unpack_from("!HBBHH", frame, 12)
        start = ETH_HLEN + PPPOE_HLEN
        if (ethertype != ETH_P_PPP_SES or ver_type != PPPOE_VER_TYPE or code != CODE_SESSION
                or sid != session or length < 2 or start + length > len(frame)):
            return None
        (proto,) = struct.unpack_from("!H", frame, start)
        return proto, frame[start + 2:start + length]
    except Exception:  # untrusted input
        return None


def build_cp(code: int, ident: int, data: bytes = b"") -> bytes:
    return struct.pack("!BBH", code, ident & 0xFF, 4 + len(data)) + data


def parse_cp(payload: bytes) -> tuple[int, int, bytes] | None:
    """A control packet (LCP, IPCP, PAP, CHAP) -> (code, id, data); padding after it ignored."""
    if len(payload) < 4:
        return None
    code, ident, length = struct.unpack_from("!BBH", payload)
    if length < 4 or length > len(payload):
        return None
    return code, ident, payload[4:length]


def build_options(options: list[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes([kind, 2 + len(value)]) + value for kind, value in options)


def parse_options(data: bytes) -> list[tuple[int, bytes]] | None:
    options, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 2:
            return None
        kind, length = data[pos], data[pos + 1]
        if length < 2 or pos + length > len(data):
            return None
        options.append((kind, data[pos + 2:pos + length]))
        pos += length
    return options


def lcp_answer(options: list[tuple[int, bytes]], our_magic: int) -> tuple[int, bytes, dict]:
    """Our answer to the AC's LCP Configure-Request: (code, data, what it asked for).

    We accept MRU, Magic-Number and PAP or CHAP-MD5; we suggest CHAP-MD5 instead of other
    authentication (EAP, MS-CHAP); everything else (ACCM, PFC, ACFC, quality, callback...)
    is rejected: RFC 2516 forbids some of it over PPPoE and we need none of it.
    """
    reject, nak, asked = [], [], {}
    for kind, value in options:
        if kind == OPT_MRU and len(value) == 2:
            mru = struct.unpack("!H", value)[0]
            asked["mru"] = mru
            if mru < MIN_MRU:
                nak.append((OPT_MRU, struct.pack("!H", OUR_MRU)))
        elif kind == OPT_AUTH and len(value) >= 2:
            proto = struct.unpack_from("!H", value)[0]
            if proto == PROTO_PAP and len(value) == 2:
                asked["auth"] = "pap"
            elif proto == PROTO_CHAP and value[2:] == bytes([CHAP_MD5]):
                asked["auth"] = "chap-md5"
            else:
                asked["auth"] = "unsupported:%04x%s" % (proto, value[2:3].hex())
                nak.append((OPT_AUTH, struct.pack("!H", PROTO_CHAP) + bytes([CHAP_MD5])))
        elif kind == OPT_MAGIC and len(value) == 4:
            magic = struct.unpack("!I", value)[0]
            if magic and magic == our_magic:
                asked["looped_back"] = True   # our own request came back: a looped line
        else:
            reject.append((kind, value))
    if reject:
        return CONF_REJ, build_options(reject), asked
    if nak:
        return CONF_NAK, build_options(nak), asked
    return CONF_ACK, build_options(options), asked


def pap_request(ident: int, user: bytes, password: bytes) -> bytes:
    if len(user) > 255 or len(password) > 255:
        raise ValueError("user name or password longer than 255 bytes")  # names neither
    return build_cp(PAP_REQ, ident, bytes([len(user)]) + user + bytes([len(password)]) + password)


def pap_message(data: bytes) -> str:
    """The message of a PAP Ack/Nak (a length byte, then text); bounded by the packet."""
    if not data:
        return ""
    return clean_text(data[1:1 + data[0]], MAX_TEXT)


def parse_chap_challenge(data: bytes) -> tuple[bytes, str] | None:
    if not data or data[0] < 1 or 1 + data[0] > len(data):
        return None
    size = data[0]
    return data[1:1 + size], clean_text(data[1 + size:])


def chap_md5(ident: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 1994: MD5(identifier, secret, challenge)."""
    return hashlib.md5(bytes([ident & 0xFF]) + secret + challenge).digest()


def chap_response(ident: int, digest: bytes, name: bytes) -> bytes:
    return build_cp(CHAP_RESPONSE, ident, bytes([len(digest)]) + digest + name)


def ipv4(value: bytes) -> str | None:
    return str(ipaddress.IPv4Address(value)) if len(value) == 4 else None


# ---------------------------------------------------------------- the login

class _Login:
    """One test session. Not reusable; run() raises Stop with the outcome, close() always runs."""

    def __init__(self, iface: str, mac: bytes, creds, stop_at: float, service: bytes,
                 ac_name: str | None, result: dict):
        self.iface, self.mac, self.creds, self.stop_at = iface, mac, creds, stop_at
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
        set_send_timeout(sock.ins, max(0.05, self.stop_at - time.monotonic()))
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
            wait = min(until, self.stop_at) - time.monotonic()
            if wait <= 0:
                return
            ready, _, _ = select.select(fds, [], [], min(wait, CLOSED_POLL_S))
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
        return min(self.stop_at, time.monotonic() + seconds)

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
        windows = plan_windows(PADO_WAIT_S, PADI_ATTEMPTS,
                               max(0.05, self.stop_at - time.monotonic()))
        for window in windows:
            self._send(self.disc, build_padi(self.mac, self.host_uniq, self.service))
            for is_disc, frame in self._frames(time.monotonic() + window):
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
        windows = plan_windows(PADR_WAIT_S, PADR_ATTEMPTS,
                               max(0.05, self.stop_at - time.monotonic()))
        for window in windows:
            self._send(self.disc, padr)
            for is_disc, frame in self._frames(time.monotonic() + window):
                pads = parse_pads(frame, self.host_uniq, self.ac_mac) if is_disc else None
                if pads is None:
                    continue
                if pads["errors"] or pads["session"] == 0:
                    error = (pads["errors"] or [{"tag": None, "message": ""}])[0]
                    self.r["pads_error"] = error
                    if pads["session"]:   # an AC that named a session anyway gets its PADT
                        self.session = self.r["session_id"] = pads["session"]
                        padt = build_padt(self.mac, self.ac_mac, self.session, self.host_uniq)
                        self.key = _register(lambda: self._padt(padt), self.closed)
                    text = f"{error['tag'] or 'no session id'}: {error['message']}"
                    raise Stop("pads_error", "PADS", text.rstrip(": "))
                self.session = pads["session"]
                self.r["session_id"] = self.session
                padt = build_padt(self.mac, self.ac_mac, self.session, self.host_uniq)
                self.key = _register(lambda: self._padt(padt), self.closed)
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
        deadline = self._stage_deadline(RESTART_S * MAX_REQUESTS)
        acked = peer_acked = False
        sent = rounds = 0
        req_id, next_send = None, time.monotonic()
        lcp.update(requests_sent=0, received=0)
        while not (acked and peer_acked):
            now = time.monotonic()
            if now >= deadline:
                raise Stop("lcp_timeout", "LCP")
            if not acked and now >= next_send and sent < MAX_REQUESTS:
                req_id = self._next_id()
                self._send_ppp(PROTO_LCP, build_cp(CONF_REQ, req_id, build_options(ours)))
                sent += 1
                lcp["requests_sent"] = sent
                next_send = now + RESTART_S
            until = deadline if acked or sent >= MAX_REQUESTS else min(deadline, next_send)
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
                    next_send = time.monotonic()
                if rounds > MAX_ROUNDS:
                    if str(lcp.get("auth", "")).startswith("unsupported"):
                        raise Stop("auth_unsupported", "LCP", lcp["auth"])
                    raise Stop("lcp_failed", "LCP", "no agreement on the link options")
                if acked and peer_acked or (not acked and time.monotonic() >= next_send):
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
        deadline = self._stage_deadline(RESTART_S * MAX_REQUESTS)
        ident = self._next_id()
        request = pap_request(ident, user, password)
        sent, next_send = 0, time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise Stop("auth_timeout", "PAP")
            if now >= next_send and sent < MAX_REQUESTS:
                self._send_ppp(PROTO_PAP, request)
                sent, next_send = sent + 1, now + RESTART_S
            for _, code, rid, data in self._packets(min(deadline, next_send), (PROTO_PAP,)):
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
            if time.monotonic() >= deadline:
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
        deadline = self._stage_deadline(RESTART_S * MAX_REQUESTS)
        acked_at = None
        peer_done = False
        sent = rounds = 0
        req_id, next_send = None, time.monotonic()
        while True:
            now = time.monotonic()
            if acked_at is not None and (peer_done or now >= min(deadline,
                                                                 acked_at + IPCP_PEER_GRACE_S)):
                return  # we have an address; the AC's own request is not needed for that
            if now >= deadline:
                raise Stop("ipcp_timeout", "IPCP")
            if acked_at is None and now >= next_send and sent < MAX_REQUESTS:
                req_id = self._next_id()
                self._send_ppp(PROTO_IPCP, build_cp(CONF_REQ, req_id, build_options(want)))
                sent, next_send = sent + 1, now + RESTART_S
            until = (min(deadline, acked_at + IPCP_PEER_GRACE_S) if acked_at is not None
                     else min(deadline, next_send) if sent < MAX_REQUESTS else deadline)
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
                    acked_at = time.monotonic()
                elif code == CONF_NAK:
                    current = dict(want)
                    for kind, value in options:
                        if kind in current and len(value) == 4:
                            current[kind] = value
                    want = [(k, current[k]) for k, _ in want]
                    rounds += 1
                    next_send = time.monotonic()
                elif code == CONF_REJ:
                    rejected = {kind for kind, _ in options}
                    if OPT_IP in rejected:
                        raise Stop("ipcp_failed", "IPCP", "address option rejected")
                    want = [(k, v) for k, v in want if k not in rejected]
                    rounds += 1
                    next_send = time.monotonic()
                if rounds > MAX_ROUNDS:
                    raise Stop("ipcp_failed", "IPCP", "no agreement on the address")
                if acked_at is not None or time.monotonic() >= next_send:
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
                _release(self.key)
            for sock in (self.disc, self.ses):
                if sock is not None:
                    try:
                        sock.close()
                    except Exception:  # noqa: BLE001
                        pass

    def _terminate(self) -> None:
        self.step = "close"
        ident = self._next_id()
        self.stop_at = time.monotonic() + TERMINATE_WAIT_S  # inside CLOSE_RESERVE_S
        self._send_ppp(PROTO_LCP, build_cp(TERM_REQ, ident, TERMINATE_TEXT))
        try:
            for _, code, rid, _ in self._packets(time.monotonic() + TERMINATE_WAIT_S, (PROTO_LCP,)):
                if code == TERM_ACK and rid == ident:
                    self.r["terminate_acked"] = True
                    return
        except Stop:
            return


def login(iface: str, *, creds, budget: float, src_mac: str | None = None, service: str = "",
          ac_name: str | None = None) -> dict:
    """One test login on iface; never raises (except KeyboardInterrupt/SystemExit, after the PADT).

    budget: seconds for everything, the orderly close included. Returns {"outcome":
    "connected"|"no_pado"|"pads_error"|"pads_timeout"|"lcp_timeout"|"lcp_failed"|
    "auth_unsupported"|"auth_refused"|"auth_timeout"|"ipcp_timeout"|"ipcp_failed"|"terminated"|
    "interrupted"|"error", "step", "message", "ac", "session_id", "pads_error", "lcp", "auth",
    "ipcp", "padt_sent", "elapsed_ms", "error"}, with both halves of the account scrubbed from
    every string.
    """
    started = time.monotonic()
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
                         (service or "").encode("utf-8")[:255], ac_name, result)
        session.run()
    except Stop as stop:
        result.update(outcome=stop.outcome, step=stop.step, message=stop.message)
    except Exception as exc:  # noqa: BLE001 - never raise to the check
        result.update(outcome="error", step=session.step if session else None,
                      error=describe_error(exc, iface))
    finally:
        if session is not None:
            session.close()
        result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return scrub_tree(result, user, secrets)
