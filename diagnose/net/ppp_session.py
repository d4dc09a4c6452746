"""PPPoE test login in user space, stage by stage: PADI/PADO, PADR/PADS, LCP, PAP or CHAP-MD5,
IPCP, then LCP Terminate and PADT.

Only for --pppoe-login. The kernel's PPP is not used (it may not even exist). This module is
the state machine: each stage sends its request, reads the answers and decides. The rest has a
home of its own: the sockets, receiving and the link's own business (ppp_link.py), what goes in
the LCP and IPCP options (ppp_options.py), PAP or CHAP (ppp_auth.py), the bytes on the wire
(ppp_frames.py, pppoe_discovery.py), the PADT that is never skipped once a PADS gave a session
id (ppp_close.py). Time and waiting come from a Clock, which tests replace so that a timeout
costs them nothing.
"""
from __future__ import annotations

import os

from ..clock import SYSTEM, Clock
from .l2 import describe_error, ethernet_hwaddr, is_unicast_mac, parse_mac
from .ppp_auth import authenticate
from .ppp_frames import (
    CONF_ACK, CONF_NAK, CONF_REJ, CONF_REQ, MAX_TEXT, PROTO_IPCP, PROTO_LCP, TERM_ACK, TERM_REQ,
    build_cp, build_options, build_padr, parse_options, parse_pads,
)
from .ppp_link import Link, Stop
from .ppp_options import (
    ipcp_acked, ipcp_adjust, ipcp_answer, ipcp_request, lcp_adjust, lcp_answer, lcp_request,
    magic_of, mru_of, new_magic,
)
from .ppp_secrets import scrub_tree
from .pppoe_discovery import HOST_UNIQ_LEN, build_padi, clean_text, parse_pado

MAX_ROUNDS = 6   # Configure-Nak/Reject rounds before we give up
TERMINATE_TEXT = b"diagnose: test login done"

# Timing. A live AC answers each step within milliseconds; the waits ride over a lost frame or
# a slow RADIUS server and keep the whole login inside its budget (pppd waits 3 s per try, ten
# tries: far too long for a diagnosis).
PADO_WAIT_S = 0.5        # per PADI (x1.5 on the retry): the discovery just before saw the AC
PADI_ATTEMPTS = 2
PADR_WAIT_S = 0.5        # per PADR, x1.5 per retry
PADR_ATTEMPTS = 3
IPCP_PEER_GRACE_S = 0.3  # our address is acked: this long for the AC's own IPCP request
TERMINATE_WAIT_S = 0.2   # for the LCP Terminate-Ack before the PADT
CLOSE_RESERVE_S = 0.3    # kept back from the budget so the orderly close always fits


class _Login:
    """One test session. Not reusable; run() raises Stop with the outcome, close() always runs."""

    def __init__(self, link: Link, creds, service: bytes, ac_name: str | None, result: dict):
        self.link, self.creds, self.service, self.ac_name, self.r = (
            link, creds, service, ac_name, result)
        self.host_uniq = os.urandom(HOST_UNIQ_LEN)
        self.pado: dict = {}

    def run(self) -> None:
        self.link.open_discovery()
        self._discover()
        self.link.open_session_socket()
        self._request_session()
        self._lcp()
        self.r["auth"] = authenticate(self.link, self.creds, self.r["lcp"].get("auth"))
        self._ipcp()
        self.r["outcome"], self.r["step"] = "connected", None

    def _discover(self) -> None:
        link = self.link
        link.step = "PADI"
        timer = link.planned(PADO_WAIT_S, PADI_ATTEMPTS)
        while not timer.expired():
            if timer.due():
                timer.sending()
                link.send_discovery(build_padi(link.mac, self.host_uniq, self.service))
            for is_disc, frame in link.frames(timer.until()):
                info = parse_pado(frame, self.host_uniq) if is_disc else None
                if info is None or (self.ac_name and info["name"] != self.ac_name):
                    continue
                link.ac_mac = bytes.fromhex(info["ac_mac"].replace(":", ""))
                self.pado = info
                self.r["ac"] = {"name": info["name"], "mac": info["ac_mac"],
                                "services": info["services"], "has_cookie": info["has_cookie"]}
                return
        raise Stop("no_pado", "PADI")

    def _request_session(self) -> None:
        link = self.link
        link.step = "PADR"
        padr = build_padr(link.mac, link.ac_mac, self.host_uniq, self.service,
                          self.pado["cookie"], self.pado["relay_id"])
        timer = link.planned(PADR_WAIT_S, PADR_ATTEMPTS)
        while not timer.expired():
            if timer.due():
                timer.sending()
                link.send_discovery(padr)
            for is_disc, frame in link.frames(timer.until()):
                pads = parse_pads(frame, self.host_uniq, link.ac_mac) if is_disc else None
                if pads is None:
                    continue
                if pads["session"]:   # an AC that named a session gets its PADT, error or not
                    link.owe_padt(pads["session"], self.host_uniq)
                    self.r["session_id"] = pads["session"]
                if pads["errors"] or pads["session"] == 0:
                    error = (pads["errors"] or [{"tag": None, "message": ""}])[0]
                    self.r["pads_error"] = error
                    text = f"{error['tag'] or 'no session id'}: {error['message']}"
                    raise Stop("pads_error", "PADS", text.rstrip(": "))
                return
        raise Stop("pads_timeout", "PADR")

    def _lcp(self) -> None:
        link = self.link
        link.step = "LCP"
        lcp = self.r["lcp"]
        ours = lcp_request(link.magic)
        timer = link.restart_timer()
        acked = peer_acked = False
        rounds = 0
        req_id = None
        lcp.update(requests_sent=0, received=0)
        while not (acked and peer_acked):
            if timer.expired():
                raise Stop("lcp_timeout", "LCP")
            if not acked and timer.due():
                req_id = link.next_id()
                timer.sending()
                link.send_ppp(PROTO_LCP, build_cp(CONF_REQ, req_id, build_options(ours)))
                lcp["requests_sent"] = timer.sent
            until = timer.deadline if acked else timer.until()
            for _, code, ident, data in link.packets(until, (PROTO_LCP,)):
                lcp["received"] += 1
                if code == CONF_REQ:
                    options = parse_options(data)
                    if options is None:
                        continue
                    answer, reply, asked = lcp_answer(options, link.magic)
                    lcp.update(asked)
                    link.send_ppp(PROTO_LCP, build_cp(answer, ident, reply), reply=True)
                    peer_acked = answer == CONF_ACK
                    if not peer_acked:
                        rounds += 1
                elif ident != req_id:
                    continue
                elif code == CONF_ACK and data == build_options(ours):
                    acked = True
                elif code in (CONF_NAK, CONF_REJ):
                    rounds += 1
                    ours = lcp_adjust(ours, code, parse_options(data) or [], new_magic())
                    link.magic = magic_of(ours) or link.magic
                    timer.resend_now()
                if rounds > MAX_ROUNDS:
                    if str(lcp.get("auth", "")).startswith("unsupported"):
                        raise Stop("auth_unsupported", "LCP", lcp["auth"])
                    raise Stop("lcp_failed", "LCP", "no agreement on the link options")
                if acked and peer_acked or (not acked and timer.due()):
                    break
        link.lcp_open = True
        lcp["opened"] = True
        lcp["our_mru"] = mru_of(ours)

    def _ipcp(self) -> None:
        link = self.link
        link.step = "IPCP"
        want = ipcp_request()
        ipcp = self.r["ipcp"] = {"address": None, "peer": None, "dns": []}
        timer = link.restart_timer()
        acked_at = None
        peer_done = False
        rounds = 0
        req_id = None
        while True:
            now = link.clock.monotonic()
            if acked_at is not None and (peer_done or now >= min(timer.deadline,
                                                                 acked_at + IPCP_PEER_GRACE_S)):
                return  # we have an address; the AC's own request is not needed for that
            if timer.expired():
                raise Stop("ipcp_timeout", "IPCP")
            if acked_at is None and timer.due():
                req_id = link.next_id()
                timer.sending()
                link.send_ppp(PROTO_IPCP, build_cp(CONF_REQ, req_id, build_options(want)))
            until = (min(timer.deadline, acked_at + IPCP_PEER_GRACE_S) if acked_at is not None
                     else timer.until())
            for _, code, ident, data in link.packets(until, (PROTO_IPCP,)):
                options = parse_options(data) if code in (CONF_REQ, CONF_ACK, CONF_NAK,
                                                          CONF_REJ) else []
                if options is None:
                    continue
                if code == CONF_REQ:
                    answer, reply, peer = ipcp_answer(options)
                    link.send_ppp(PROTO_IPCP, build_cp(answer, ident, reply), reply=True)
                    if answer == CONF_ACK:
                        ipcp["peer"], peer_done = peer, True
                    else:
                        rounds += 1
                elif code == TERM_REQ:
                    link.send_ppp(PROTO_IPCP, build_cp(TERM_ACK, ident), reply=True)
                    raise Stop("ipcp_failed", "IPCP", clean_text(data, MAX_TEXT) or None)
                elif ident != req_id or acked_at is not None:
                    continue
                elif code == CONF_ACK and data == build_options(want):
                    ipcp["address"], ipcp["dns"] = ipcp_acked(want)
                    if ipcp["address"] is None:
                        raise Stop("ipcp_failed", "IPCP", "no address assigned")
                    acked_at = link.clock.monotonic()
                elif code in (CONF_NAK, CONF_REJ):
                    adjusted = ipcp_adjust(want, code, options)
                    if adjusted is None:
                        raise Stop("ipcp_failed", "IPCP", "address option rejected")
                    want = adjusted
                    rounds += 1
                    timer.resend_now()
                if rounds > MAX_ROUNDS:
                    raise Stop("ipcp_failed", "IPCP", "no agreement on the address")
                if acked_at is not None or timer.due():
                    break   # the loop's top decides again (done, resend, or a shorter wait)

    # -- the end

    def close(self) -> None:
        """LCP Terminate (if the link is open and time is left), then the PADT; sockets closed."""
        link = self.link
        try:
            if link.key is not None and link.lcp_open and not link.closed.is_set():
                self._terminate()
        except Exception:  # noqa: BLE001 - whatever happens, the PADT below goes out
            pass
        finally:
            link.close()

    def _terminate(self) -> None:
        link = self.link
        link.step = "close"
        ident = link.next_id()
        link.stop_at = link.clock.monotonic() + TERMINATE_WAIT_S  # inside CLOSE_RESERVE_S
        link.send_ppp(PROTO_LCP, build_cp(TERM_REQ, ident, TERMINATE_TEXT))
        try:
            for _, code, rid, _ in link.packets(link.stop_at, (PROTO_LCP,)):
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
        link = Link(iface, mac, clock, started + budget - CLOSE_RESERVE_S, result, new_magic())
        session = _Login(link, creds, (service or "").encode("utf-8")[:255], ac_name, result)
        session.run()
    except Stop as stop:
        result.update(outcome=stop.outcome, step=stop.step, message=stop.message)
    except Exception as exc:  # noqa: BLE001 - never raise to the check
        result.update(outcome="error", step=session.link.step if session else None,
                      error=describe_error(exc, iface))
    finally:
        if session is not None:
            session.close()
        result["elapsed_ms"] = int((clock.monotonic() - started) * 1000)
    return scrub_tree(result, user, secrets)
