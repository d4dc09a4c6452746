"""The user-space PPPoE login (diagnose.net.ppp_session and the modules it drives: ppp_link,
ppp_auth, ppp_options, ppp_frames) against the lab's AC, in-process.

tests/lab/ppp_ac.AccessConcentrator is transport-free (frame in, frames out) and built with
scapy's PPP layers, independently of the hand-written client. Here a Wire stands in for the two
packet sockets: what the client sends goes to the AC (or to a hostile stand-in), what comes back
is queued on a socketpair the client select()s on. No network, no root, and no real waiting: a
VirtualClock moves time on only while the login waits with nothing to read.
"""
from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.clock import SYSTEM
from diagnose.net import ppp_close, ppp_frames as pf, ppp_link, ppp_options, ppp_session as ps
from diagnose.net.ppp_secrets import Credentials
from tests.lab.ppp_ac import AccessConcentrator
from tests.properties import examples

from .virtual_clock import VirtualClock

CLIENT_MAC = bytes.fromhex("02aabbccdd01")
AC_MAC = "02:aa:bb:cc:dd:02"
AC_MAC_RAW = bytes.fromhex("02aabbccdd02")
USER, PASSWORD = "lab-user-0042", "s3cret-PASSWORD"
CREDS = Credentials(USER, PASSWORD, PASSWORD, "test")


class Wire:
    """The client's packet sockets. `respond(frame)` returns the frames the far end sends back."""

    def __init__(self, respond, *, on_send=None):
        self.respond, self.on_send = respond, on_send
        self.pairs = {t: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                      for t in (pf.ETH_P_PPP_DISC, pf.ETH_P_PPP_SES)}
        self.sent: list[bytes] = []
        self.lock = threading.Lock()

    def open_socket(self, iface, ethertype, promisc):
        return _Sock(self, ethertype)

    def deliver(self, frame: bytes) -> None:
        ethertype = int.from_bytes(frame[12:14], "big")
        pair = self.pairs.get(ethertype)
        if pair is not None:
            try:   # a full receive queue drops the frame, as a real socket would
                pair[1].send(frame, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass

    def send(self, frame: bytes) -> None:
        with self.lock:
            self.sent.append(frame)
            if self.on_send is not None:
                self.on_send(frame)
            for out in self.respond(frame):
                self.deliver(out)

    def close(self):
        for a, b in self.pairs.values():
            a.close()
            b.close()

    def codes(self, ethertype=pf.ETH_P_PPP_DISC):
        return [f[15] for f in self.sent if int.from_bytes(f[12:14], "big") == ethertype]


class _Sock:
    def __init__(self, wire, ethertype):
        self.wire, self.ins = wire, wire.pairs[ethertype][0]

    def send(self, frame):
        self.wire.send(bytes(frame))

    def close(self):
        pass


def _drain(fd):
    for _ in range(256):
        try:
            data = fd.recv(65535, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        yield data, time.monotonic()


@pytest.fixture
def wire(monkeypatch):
    """wire(respond) -> a Wire the next login() uses."""
    made = []

    def make(respond, **kwargs):
        w = Wire(respond, **kwargs)
        made.append(w)
        monkeypatch.setattr(ppp_link, "open_socket", w.open_socket)
        return w

    monkeypatch.setattr(ppp_link, "drain", _drain)
    monkeypatch.setattr(ps, "ethernet_hwaddr", lambda iface: (CLIENT_MAC, None))
    yield make
    for w in made:
        w.close()


def make_ac(**kwargs):
    events = []
    ac = AccessConcentrator(AC_MAC, user=USER, password=PASSWORD, on_event=events.append,
                            **kwargs)
    return ac, events


def login(budget=3.0, creds=CREDS, clock=None, **kwargs):
    """The result and how long the login took on its clock (virtual unless one is given)."""
    clock = clock or VirtualClock()
    started = clock.monotonic()
    result = ps.login("eth-test", creds=creds, budget=budget, clock=clock, **kwargs)
    return result, clock.monotonic() - started


def names(events):
    return [e["event"] for e in events]


def assert_closed(events):
    """Every session the AC opened got a PADT after it."""
    for i, e in enumerate(events):
        if e["event"] == "pads":
            assert any(x["event"] == "padt" and x["session"] == e["session"] and x["known"]
                       for x in events[i + 1:]), names(events)


# ---------------------------------------------------------------- the AC's modes

@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_login_accepted(wire, auth):
    ac, events = make_ac(auth=auth)
    wire(ac.handle)
    result, elapsed = login()
    assert result["outcome"] == "connected", result
    assert result["ac"]["name"] == "LAB-BRAS" and result["ac"]["has_cookie"]
    assert result["session_id"] == 0x1234
    assert result["lcp"]["opened"] and result["lcp"]["our_mru"] == ppp_options.OUR_MRU
    assert result["auth"] == {"protocol": "pap" if auth == "pap" else "chap-md5",
                              "outcome": "ok", "message": "Login ok"}
    assert result["ipcp"] == {"address": "10.67.0.2", "peer": "10.67.0.1",
                              "dns": ["198.51.100.53", "198.51.100.53"]}
    assert result["padt_sent"] and result.get("terminate_acked")
    assert names(events)[-2:] == ["lcp_terminate", "padt"]
    assert any(e["event"] == "padr" and e["cookie_ok"] for e in events)   # cookie echoed
    assert_closed(events)
    assert elapsed < 1.0
    assert ppp_close.open_sessions() == 0


@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_login_refused_with_the_servers_message(wire, auth):
    ac, events = make_ac(auth=auth, mode="refuse", message="E=691 R=0 Account suspended")
    wire(ac.handle)
    result, _ = login()
    assert (result["outcome"], result["step"]) == ("auth_refused", auth.upper())
    assert result["message"] == "E=691 R=0 Account suspended"
    assert result["auth"]["outcome"] == "refused"
    assert result["padt_sent"]
    assert_closed(events)


def test_wrong_password_is_refused(wire):
    ac, events = make_ac()
    wire(ac.handle)
    result, _ = login(creds=Credentials(USER, "wrong", "wrong", "test"))
    assert result["outcome"] == "auth_refused"
    assert result["message"] == "E=691 R=0 Authentication failed"
    assert_closed(events)


def test_pads_error(wire):
    ac, events = make_ac(mode="pads-error", pads_error=("Generic-Error", "Try later"))
    w = wire(ac.handle)
    result, elapsed = login()
    assert (result["outcome"], result["step"]) == ("pads_error", "PADS")
    assert result["message"] == "Generic-Error: Try later"
    assert result["pads_error"] == {"tag": "Generic-Error", "message": "Try later"}
    assert result["session_id"] is None and not result["padt_sent"]   # no session: no PADT
    assert pf.CODE_PADT not in w.codes()
    assert elapsed < 0.5


def test_lcp_timeout_still_sends_padt(wire):
    ac, events = make_ac(mode="lcp-timeout")
    w = wire(ac.handle)
    result, elapsed = login(budget=1.5)
    assert (result["outcome"], result["step"]) == ("lcp_timeout", "LCP")
    assert result["padt_sent"] and w.codes()[-1] == pf.CODE_PADT
    assert_closed(events)
    assert 1.0 < elapsed < 1.6     # the budget holds, the orderly close included


def test_no_pado(wire):
    w = wire(lambda frame: [])
    result, elapsed = login(budget=1.0)
    assert (result["outcome"], result["step"]) == ("no_pado", "PADI")
    assert w.codes() == [0x09] * ps.PADI_ATTEMPTS and elapsed < 1.1


def test_pads_timeout(wire):
    ac, _ = make_ac()

    def no_pads(frame):
        return [] if frame[15] == pf.CODE_PADR else ac.handle(frame)
    w = wire(no_pads)
    result, _ = login(budget=1.5)
    assert (result["outcome"], result["step"]) == ("pads_timeout", "PADR")
    assert w.codes().count(pf.CODE_PADR) == ps.PADR_ATTEMPTS


def test_pads_error_with_a_session_id_still_gets_padt(wire):
    ac, _ = make_ac()

    def error_pads(frame):
        out = ac.handle(frame)
        if frame[15] == pf.CODE_PADR:   # the PADS keeps its session id, plus an error tag
            pads = out[0]
            tags = pads[20:20 + int.from_bytes(pads[18:20], "big")] + pf.tag(0x0202, b"full")
            out = [pads[:18] + struct.pack("!H", len(tags)) + tags]
        return out
    w = wire(error_pads)
    result, _ = login()
    assert result["outcome"] == "pads_error" and result["session_id"] == 0x1234
    assert result["padt_sent"] and w.codes()[-1] == pf.CODE_PADT


# ---------------------------------------------------------------- PADT on every way out

def test_close_all_sends_padt_of_a_running_login(wire):
    """What the atexit hook does when Ctrl-C ends the process while a login runs."""
    ac, events = make_ac(mode="lcp-timeout")
    wire(ac.handle)
    results = []
    thread = threading.Thread(target=lambda: results.append(login(budget=5.0, clock=SYSTEM)),
                              daemon=True)   # real time: close_all() comes from another thread
    thread.start()
    deadline = time.monotonic() + 2
    while ppp_close.open_sessions() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert ppp_close.close_all() == 1
    thread.join(2)
    assert not thread.is_alive()
    result, elapsed = results[0]
    assert result["outcome"] == "interrupted" and result["padt_sent"] and elapsed < 1.0
    assert names(events).count("padt") == 1     # exactly one PADT, not a second from close()
    assert_closed(events)


def test_keyboard_interrupt_inside_the_login_still_sends_padt(wire):
    ac, events = make_ac()

    def interrupt(frame):
        if int.from_bytes(frame[12:14], "big") == pf.ETH_P_PPP_SES:
            raise KeyboardInterrupt
    wire(ac.handle, on_send=interrupt)
    with pytest.raises(KeyboardInterrupt):
        login()
    assert_closed(events)
    assert ppp_close.open_sessions() == 0


def test_invalid_arguments_touch_nothing(wire):
    w = wire(lambda frame: [])
    assert login(creds=Credentials("", "x", "x"))[0]["outcome"] == "error"
    assert login(budget=0.1)[0]["outcome"] == "error"
    assert login(src_mac="ff:ff:ff:ff:ff:ff")[0]["error"] == "invalid src_mac"
    assert w.sent == []


# ---------------------------------------------------------------- secrets

def test_account_is_scrubbed_from_what_the_server_says(wire):
    ac, _ = make_ac(mode="refuse", message=f"user {USER} with {PASSWORD} refused")
    wire(ac.handle)
    result, _ = login()
    assert USER not in repr(result) and PASSWORD not in repr(result)
    assert result["message"] == "user lab…42 with *** refused"


def test_credentials_never_show_the_password():
    assert PASSWORD not in repr(CREDS) and PASSWORD not in str(CREDS)
    assert USER not in repr(CREDS)


# ---------------------------------------------------------------- a hostile LAN

class Hostile:
    """A real AC up to `stage`, then whatever `act` sends back."""

    def __init__(self, act, **kwargs):
        self.ac, self.events = make_ac(**kwargs)
        self.act = act

    def __call__(self, frame):
        if int.from_bytes(frame[12:14], "big") == pf.ETH_P_PPP_SES:
            out = self.act(frame, self.ac)
            if out is not None:
                return out
        return self.ac.handle(frame)


def session_frame(proto, payload, session=0x1234, src=AC_MAC_RAW):
    return pf.build_ppp(src, CLIENT_MAC, session, proto, payload)


def test_echo_request_flood_is_answered_at_most_max_replies_times(wire):
    flood = [session_frame(pf.PROTO_LCP, pf.build_cp(pf.ECHO_REQ, i, b"\0\0\0\0" + b"x" * 900))
             for i in range(200)]
    w = wire(Hostile(lambda frame, ac: ac.handle(frame) + flood))
    result, elapsed = login(budget=2.0)
    assert result["outcome"] == "connected", result
    replies = [f for f in w.sent if f[12:14] == b"\x88\x64" and f[22:23] == bytes([pf.ECHO_REPLY])]
    assert len(replies) <= ppp_link.MAX_REPLIES
    assert elapsed < 2.1


def test_endless_naks_end_as_lcp_failed(wire):
    def nak(frame, ac):
        parsed = pf.parse_ppp(frame, CLIENT_MAC, 0x1234)   # our own frame: src is the client
        if parsed and parsed[0] == pf.PROTO_LCP and parsed[1][0] == pf.CONF_REQ:
            ident = parsed[1][1]
            mru = pf.build_options([(pf.OPT_MRU, struct.pack("!H", 1400))])
            return [session_frame(pf.PROTO_LCP, pf.build_cp(pf.CONF_NAK, ident, mru)),
                    session_frame(pf.PROTO_LCP, pf.build_cp(
                        pf.CONF_REQ, 7, pf.build_options([(pf.OPT_AUTH, b"\xc2\x27")])))]
        return []
    w = wire(Hostile(nak))
    result, elapsed = login(budget=3.0)
    assert result["outcome"] in ("lcp_failed", "lcp_timeout"), result
    assert result["padt_sent"] and w.codes()[-1] == pf.CODE_PADT
    assert elapsed < 3.1


def test_an_ac_insisting_on_eap_is_auth_unsupported(wire):
    eap = pf.build_options([(pf.OPT_AUTH, b"\xc2\x27")])
    count = iter(range(1000))

    def insist(frame, ac):
        parsed = pf.parse_ppp(frame, CLIENT_MAC, 0x1234)
        if parsed is None or parsed[0] != pf.PROTO_LCP:
            return []
        out = [session_frame(pf.PROTO_LCP, pf.build_cp(pf.CONF_REQ, next(count) & 0xFF, eap))]
        if parsed[1][0] == pf.CONF_REQ:   # ours is fine
            out.insert(0, session_frame(pf.PROTO_LCP, pf.build_cp(
                pf.CONF_ACK, parsed[1][1], parsed[1][4:])))
        return out
    w = wire(Hostile(insist))
    result, elapsed = login(budget=3.0)
    assert (result["outcome"], result["step"]) == ("auth_unsupported", "LCP"), result
    assert result["message"].startswith("unsupported:c227")
    assert result["padt_sent"] and w.codes()[-1] == pf.CODE_PADT and elapsed < 3.1


def test_terminate_request_and_padt_from_the_ac_end_the_login(wire):
    def terminate(frame, ac):
        return [session_frame(pf.PROTO_LCP, pf.build_cp(pf.TERM_REQ, 3, b"bye \x1b[2J"))]
    wire(Hostile(terminate))
    result, _ = login()
    assert (result["outcome"], result["message"]) == ("terminated", "bye \ufffd[2J")

    padt = pf.build_padt(AC_MAC_RAW, CLIENT_MAC, 0x1234)
    wire(Hostile(lambda frame, ac: [padt]))
    result, _ = login()
    assert result["outcome"] == "terminated" and result.get("padt_received")


def test_frames_from_strangers_and_garbage_are_ignored(wire):
    stranger = bytes.fromhex("02aabbccdd99")
    junk = [b"", b"\x00", b"\xff" * 13, b"\xff" * 2000,
            session_frame(pf.PROTO_LCP, pf.build_cp(pf.TERM_REQ, 1), src=stranger),
            session_frame(pf.PROTO_LCP, pf.build_cp(pf.TERM_REQ, 1), session=0x9999),
            pf.build_padt(stranger, CLIENT_MAC, 0x1234),
            session_frame(pf.PROTO_LCP, b"\x01\x01\xff\xff"),                 # length past end
            session_frame(pf.PROTO_LCP, b"\x01\x01\x00\x08\x01\x09\x05"),     # option past end
            session_frame(pf.PROTO_CHAP, b"\x01\x01\x00\x06\xff\x00"),        # value past end
            session_frame(pf.PROTO_PAP, b"\x03\x01\x00\x05\xff"),             # message past end
            session_frame(pf.PROTO_IPCP, b"\x02\x01\x00\x04"),
            session_frame(0x8057, b"\x01\x01\x00\x04"),                       # IPV6CP
            session_frame(pf.PROTO_LCP, b"\x63\x01\x00\x04")]                 # unknown code
    w = wire(Hostile(lambda frame, ac: junk + ac.handle(frame) + junk))
    result, _ = login()
    assert result["outcome"] == "connected", result
    assert len(w.sent) < 60


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1600))
def test_parsers_never_raise(data):
    frame = pf.build_ppp(AC_MAC_RAW, CLIENT_MAC, 0x1234, pf.PROTO_LCP, data)
    for candidate in (data, frame, CLIENT_MAC + AC_MAC_RAW + b"\x88\x63\x11\x65" + data):
        pf.parse_discovery(candidate)
        pf.parse_pads(candidate, b"12345678", AC_MAC_RAW)
        pf.parse_padt(candidate, AC_MAC_RAW, 0x1234)
        pf.parse_ppp(candidate, AC_MAC_RAW, 0x1234)
    packet = pf.parse_cp(data)
    options = pf.parse_options(data)
    if options is not None:
        code, reply, _ = ppp_options.lcp_answer(options, 0x01020304)
        assert code in (pf.CONF_ACK, pf.CONF_NAK, pf.CONF_REJ) and len(reply) <= len(data) + 16
    pf.parse_chap_challenge(data)
    assert len(pf.pap_message(data)) <= pf.MAX_TEXT
    assert packet is None or len(packet[2]) <= len(data)


# ---------------------------------------------------------------- pure pieces

def test_chap_md5_is_rfc1994():
    import hashlib
    assert pf.chap_md5(7, b"secret", b"chal") == hashlib.md5(b"\x07secretchal").digest()


def test_lcp_answer():
    mru = (pf.OPT_MRU, struct.pack("!H", 1492))
    pap = (pf.OPT_AUTH, struct.pack("!H", pf.PROTO_PAP))
    magic = (pf.OPT_MAGIC, struct.pack("!I", 5))
    assert ppp_options.lcp_answer([mru, pap, magic], 9)[0] == pf.CONF_ACK
    code, data, asked = ppp_options.lcp_answer([(pf.OPT_AUTH, b"\xc2\x27")], 9)   # EAP
    assert code == pf.CONF_NAK and data == b"\x03\x05\xc2\x23\x05"
    assert asked["auth"].startswith("unsupported")
    code, data, _ = ppp_options.lcp_answer([mru, (2, b"\0\0\0\0")], 9)            # ACCM: rejected
    assert (code, data) == (pf.CONF_REJ, b"\x02\x06\0\0\0\0")
    assert ppp_options.lcp_answer([(pf.OPT_MAGIC, struct.pack("!I", 9))], 9)[2]["looped_back"]
    assert ppp_options.lcp_answer([(pf.OPT_MRU, struct.pack("!H", 10))], 9)[0] == pf.CONF_NAK


def test_pap_request_refuses_oversized_fields_without_naming_them():
    with pytest.raises(ValueError) as raised:
        pf.pap_request(1, b"u", b"p" * 300)
    assert "ppp" not in str(raised.value)


def test_retransmit_resends_on_its_windows_and_times_out_at_the_deadline():
    clock = VirtualClock()
    timer = ppp_link.Retransmit(clock, [1.0, 1.5], deadline=clock.now + 2.5)
    sends = []
    while not timer.expired():
        if timer.due():
            timer.sending()
            sends.append(clock.now - 1000.0)
        clock.now = timer.until()
    assert sends == [0.0, 1.0] and clock.now == 1002.5
    timer = ppp_link.Retransmit(clock, [1.0, 1.0], deadline=clock.now + 2.0)
    timer.sending()
    timer.resend_now()        # a Nak changed the request: it goes out again at once
    assert timer.due() and timer.until() == clock.now


def test_lcp_adjust_takes_a_sane_mru_a_fresh_magic_and_drops_what_is_rejected():
    ours = ppp_options.lcp_request(5)
    nak = [(pf.OPT_MRU, struct.pack("!H", 1400)), (pf.OPT_MAGIC, struct.pack("!I", 5))]
    adjusted = ppp_options.lcp_adjust(ours, pf.CONF_NAK, nak, fresh_magic=6)
    assert ppp_options.mru_of(adjusted) == 1400 and ppp_options.magic_of(adjusted) == 6
    insane = [(pf.OPT_MRU, struct.pack("!H", 9000))]
    assert ppp_options.lcp_adjust(ours, pf.CONF_NAK, insane, fresh_magic=6) == ours
    rejected = ppp_options.lcp_adjust(ours, pf.CONF_REJ, [(pf.OPT_MAGIC, b"")], fresh_magic=6)
    assert ppp_options.magic_of(rejected) is None and ppp_options.mru_of(rejected) == 1492


def test_ipcp_negotiation():
    want = ppp_options.ipcp_request()
    given_ = [(pf.OPT_IP, bytes([10, 0, 0, 2])), (pf.OPT_DNS2, b"\x01")]   # a bad length: ignored
    want = ppp_options.ipcp_adjust(want, pf.CONF_NAK, given_)
    assert ppp_options.ipcp_acked(want) == ("10.0.0.2", [])
    assert ppp_options.ipcp_adjust(want, pf.CONF_REJ, [(pf.OPT_DNS1, bytes(4))]) == [
        (pf.OPT_IP, bytes([10, 0, 0, 2])), (pf.OPT_DNS2, bytes(4))]
    assert ppp_options.ipcp_adjust(want, pf.CONF_REJ, [(pf.OPT_IP, bytes(4))]) is None
    assert ppp_options.ipcp_acked(ppp_options.ipcp_request()) == (None, [])
    assert ppp_options.ipcp_answer([(pf.OPT_IP, bytes([10, 0, 0, 1]))])[::2] == (
        pf.CONF_ACK, "10.0.0.1")
    assert ppp_options.ipcp_answer([(2, b"\x00\x2d")])[:2] == (pf.CONF_REJ, b"\x02\x04\x00\x2d")
