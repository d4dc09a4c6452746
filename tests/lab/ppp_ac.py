"""A PPPoE access concentrator of the fault lab's own, in user space with scapy's PPP layers.

rp-pppoe's pppoe-server stops after PADS here (no /dev/ppp: pppd cannot run), so the session
stages come from this AC: PADI/PADO, PADR/PADS, LCP, PAP or CHAP-MD5, IPCP. It is written with
scapy's layers on purpose: an implementation independent of diagnose's hand-written client.

Modes:
  accept       the lab account logs in (PAP or CHAP-MD5) and gets an IPCP address
  refuse       every login is refused with --message (e.g. "E=691 R=0 Account suspended: arrears")
  pads-error   PADR is answered by a PADS with session 0 and an error tag
  lcp-timeout  PADS opens a session, then every session frame is ignored

    python3 ppp_ac.py serve --iface ac0 --mode accept --events FILE --ready FILE
    python3 ppp_ac.py dial --iface pc0   (the lab's stand-in for pppd: one test login, as JSON)

The account (LAB_AC_USER, LAB_AC_PASSWORD) comes from the environment, never the command line.
`AccessConcentrator` is transport-free (frame in, frames out) so unit tests run it in-process.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

ETH_P_PPP_DISC, ETH_P_PPP_SES = 0x8863, 0x8864
PADI, PADO, PADR, PADS, PADT = 0x09, 0x07, 0x19, 0x65, 0xA7
ERROR_TAGS = {"Service-Name-Error": 0x0201, "AC-System-Error": 0x0202, "Generic-Error": 0x0203}
DEFAULT_MESSAGE = "E=691 R=0 Account suspended: arrears"
RETRANSMIT_S = 0.5      # our LCP request and CHAP challenge, until answered
MAX_RETRANSMITS = 10
LIFETIME_S = 300.0      # a leftover AC ends itself
FIRST_SESSION = 0x1234


def _scapy():
    import scapy.layers.l2  # noqa: F401 - registers Ethernet
    from scapy.layers import ppp
    return ppp


class AccessConcentrator:
    def __init__(self, mac: str, *, ac_name="LAB-BRAS", service="lab-internet", mode="accept",
                 auth="pap", user="", password="", message=DEFAULT_MESSAGE,
                 pads_error=("AC-System-Error", "Too many sessions for this account"),
                 local="10.67.0.1", remote="10.67.0.2", dns="198.51.100.53",
                 on_event=lambda event: None):
        self.mac, self.ac_name, self.service, self.mode, self.auth = mac, ac_name, service, mode, auth
        self.user, self.password, self.message = user.encode(), password.encode(), message
        self.pads_error, self.local, self.remote, self.dns = pads_error, local, remote, dns
        self.on_event = on_event
        self.cookie = os.urandom(16)
        self.sessions: dict[int, dict] = {}
        self.next_sid = FIRST_SESSION
        self.ppp = _scapy()

    def event(self, name: str, **data) -> None:
        self.on_event({"t": time.time(), "event": name, **data})

    # -- discovery

    def _disc(self, dst, code, sid, tags):
        from scapy.layers.l2 import Ether
        p = self.ppp
        tag_list = [p.PPPoETag(tag_type=t, tag_value=v) for t, v in tags]
        return bytes(Ether(dst=dst, src=self.mac, type=ETH_P_PPP_DISC)
                     / p.PPPoED(code=code, sessionid=sid) / p.PPPoED_Tags(tag_list=tag_list))

    def handle(self, frame: bytes) -> list[bytes]:
        from scapy.layers.l2 import Ether
        p = self.ppp
        try:
            pkt = Ether(frame)
        except Exception:  # noqa: BLE001 - the lab AC ignores what it cannot read
            return []
        if pkt.dst not in (self.mac, "ff:ff:ff:ff:ff:ff"):
            return []
        if p.PPPoED in pkt:
            return self._discovery(pkt)
        if p.PPPoE in pkt and pkt[p.PPPoE].sessionid in self.sessions:
            return self._session(pkt, self.sessions[pkt[p.PPPoE].sessionid])
        return []

    def _discovery(self, pkt) -> list[bytes]:
        p = self.ppp
        disc = pkt[p.PPPoED]
        tags = [(t.tag_type, bytes(t.tag_value or b"")) for t in
                (pkt[p.PPPoED_Tags].tag_list if p.PPPoED_Tags in pkt else [])]
        uniq = [(t, v) for t, v in tags if t == 0x0103]
        wanted = next((v for t, v in tags if t == 0x0101), b"")
        if wanted not in (b"", self.service.encode()):
            return []
        if disc.code == PADI:
            self.event("padi")
            return [self._disc(pkt.src, PADO, 0, [(0x0102, self.ac_name.encode()),
                                                  (0x0101, self.service.encode()),
                                                  (0x0104, self.cookie), *uniq])]
        if disc.code == PADR:
            cookie = next((v for t, v in tags if t == 0x0104), None)
            self.event("padr", cookie_ok=cookie == self.cookie)
            if cookie != self.cookie:
                return [self._disc(pkt.src, PADS, 0, [(0x0203, b"bad cookie"), *uniq])]
            if self.mode == "pads-error":
                tag, text = self.pads_error
                return [self._disc(pkt.src, PADS, 0, [(ERROR_TAGS[tag], text.encode()), *uniq])]
            sid, self.next_sid = self.next_sid, self.next_sid + 1
            self.sessions[sid] = {"sid": sid, "peer": pkt.src, "ours_acked": False,
                                  "theirs_acked": False, "lcp_id": 1, "sent": None, "tries": 0,
                                  "auth": None, "challenge": None, "ipcp_up": False}
            self.event("pads", session=sid)
            return [self._disc(pkt.src, PADS, sid, [(0x0101, self.service.encode()), *uniq])]
        if disc.code == PADT:
            self.event("padt", session=disc.sessionid, known=disc.sessionid in self.sessions)
            self.sessions.pop(disc.sessionid, None)
        return []

    # -- session

    def _out(self, s, layer) -> bytes:
        from scapy.layers.l2 import Ether
        p = self.ppp
        return bytes(Ether(dst=s["peer"], src=self.mac, type=ETH_P_PPP_SES)
                     / p.PPPoE(sessionid=s["sid"]) / layer)

    def _our_lcp_request(self, s):
        p = self.ppp
        auth = (p.PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5)
                if self.auth == "chap" else p.PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023))
        options = [p.PPP_LCP_MRU_Option(max_recv_unit=1492), auth,
                   p.PPP_LCP_Magic_Number_Option(magic_number=0x1AB2C3D4)]
        return p.PPP(proto=0xC021) / p.PPP_LCP_Configure(code=1, id=s["lcp_id"], options=options)

    def _session(self, pkt, s) -> list[bytes]:
        p = self.ppp
        if pkt.src != s["peer"]:
            return []
        if self.mode == "lcp-timeout":
            self.event("ignored", proto=int(pkt[p.PPP].proto) if p.PPP in pkt else None)
            return []
        out = []
        if p.PPP_LCP_Configure in pkt:
            lcp = pkt[p.PPP_LCP_Configure]
            if lcp.code == 1:                    # the client's request: we take it as it is
                self.event("lcp_request", options=[int(o.type) for o in lcp.options])
                s["theirs_acked"] = True
                out.append(self._out(s, p.PPP(proto=0xC021) / p.PPP_LCP_Configure(
                    code=2, id=lcp.id, options=lcp.options)))
                if s["sent"] is None:
                    s["sent"], s["tries"] = time.monotonic(), 1
                    out.append(self._out(s, self._our_lcp_request(s)))
            elif lcp.code == 2 and lcp.id == s["lcp_id"]:
                s["ours_acked"] = True
        elif p.PPP_LCP_Echo in pkt and pkt[p.PPP_LCP_Echo].code == 9:
            echo = pkt[p.PPP_LCP_Echo]
            out.append(self._out(s, p.PPP(proto=0xC021) / p.PPP_LCP_Echo(
                code=10, id=echo.id, magic_number=0x1AB2C3D4, data=echo.data)))
        elif p.PPP_LCP_Terminate in pkt and pkt[p.PPP_LCP_Terminate].code == 5:
            term = pkt[p.PPP_LCP_Terminate]
            self.event("lcp_terminate", reason=bytes(term.data).decode(errors="replace"))
            out.append(self._out(s, p.PPP(proto=0xC021) / p.PPP_LCP_Terminate(code=6, id=term.id)))
        elif p.PPP_PAP_Request in pkt:
            out += self._pap(s, pkt[p.PPP_PAP_Request])
        elif p.PPP_CHAP_ChallengeResponse in pkt and pkt[p.PPP_CHAP_ChallengeResponse].code == 2:
            out += self._chap(s, pkt[p.PPP_CHAP_ChallengeResponse])
        elif p.PPP_IPCP in pkt:
            out += self._ipcp(s, pkt[p.PPP_IPCP])
        if s["ours_acked"] and s["theirs_acked"] and s["auth"] is None:
            s["auth"] = "pending"
            self.event("lcp_open")
            if self.auth == "chap":
                out.append(self._challenge(s))
        return out

    def _verdict(self, user: bytes, ok: bool) -> tuple[bool, str]:
        if self.mode == "refuse":
            return False, self.message
        if ok and user == self.user:
            return True, "Login ok"
        return False, "E=691 R=0 Authentication failed"

    def _after_auth(self, s, ok: bool) -> list[bytes]:
        p = self.ppp
        s["auth"] = "ok" if ok else "refused"
        if not ok:   # a BRAS hangs up after a refusal
            return [self._out(s, p.PPP(proto=0xC021) / p.PPP_LCP_Terminate(
                code=5, id=99, data=b"Authentication failed"))]
        return [self._out(s, p.PPP(proto=0x8021) / p.PPP_IPCP(code=1, id=1, options=[
            p.PPP_IPCP_Option_IPAddress(data=self.local)]))]

    def _pap(self, s, req) -> list[bytes]:
        p = self.ppp
        user, password = bytes(req.username or b""), bytes(req.password or b"")
        ok, message = self._verdict(user, password == self.password)
        self.event("pap", ok=ok, user_ok=user == self.user)
        reply = p.PPP(proto=0xC023) / p.PPP_PAP_Response(code=2 if ok else 3, id=req.id,
                                                          message=message)
        return [self._out(s, reply)] + self._after_auth(s, ok)

    def _challenge(self, s) -> bytes:
        p = self.ppp
        s["challenge"] = os.urandom(16)
        s["challenge_id"] = (s.get("challenge_id", 0) + 1) & 0xFF
        s["challenge_sent"] = time.monotonic()
        return self._out(s, p.PPP(proto=0xC223) / p.PPP_CHAP_ChallengeResponse(
            code=1, id=s["challenge_id"], value=s["challenge"],
            optional_name=self.ac_name.encode()))

    def _chap(self, s, resp) -> list[bytes]:
        p = self.ppp
        if s["challenge"] is None or resp.id != s["challenge_id"]:
            return []
        expected = hashlib.md5(bytes([resp.id]) + self.password + s["challenge"]).digest()
        user = bytes(resp.optional_name or b"")
        ok, message = self._verdict(user, bytes(resp.value) == expected)
        self.event("chap", ok=ok, user_ok=user == self.user)
        s["challenge"] = None
        reply = p.PPP(proto=0xC223) / p.PPP_CHAP(code=3 if ok else 4, id=resp.id,
                                                 data=message.encode())
        return [self._out(s, reply)] + self._after_auth(s, ok)

    def _ipcp(self, s, ipcp) -> list[bytes]:
        p = self.ppp
        if s["auth"] != "ok":
            return []
        if ipcp.code == 1:   # the client's request: Nak 0.0.0.0 with its address and the DNS
            values = {3: self.remote, 129: self.dns, 131: self.dns}
            wanted = {int(o.type): getattr(o, "data", None) for o in ipcp.options}
            unknown = [o for o in ipcp.options if int(o.type) not in values]
            if unknown:
                return [self._out(s, p.PPP(proto=0x8021) / p.PPP_IPCP(
                    code=4, id=ipcp.id, options=unknown))]
            wrong = [t for t, v in wanted.items() if v != values[t]]
            if wrong:
                return [self._out(s, p.PPP(proto=0x8021) / p.PPP_IPCP(code=3, id=ipcp.id, options=[
                    p.PPP_IPCP_Option_IPAddress(type=t, data=values[t]) for t in wrong]))]
            s["ipcp_up"] = True
            self.event("ipcp_up", address=self.remote)
            return [self._out(s, p.PPP(proto=0x8021) / p.PPP_IPCP(
                code=2, id=ipcp.id, options=ipcp.options))]
        return []

    def tick(self, now: float) -> list[bytes]:
        """Retransmit our LCP request and CHAP challenge while unanswered."""
        out = []
        for s in self.sessions.values():
            if self.mode == "lcp-timeout":
                continue
            if s["sent"] is not None and not s["ours_acked"] and s["tries"] < MAX_RETRANSMITS \
                    and now - s["sent"] >= RETRANSMIT_S:
                s["sent"], s["tries"] = now, s["tries"] + 1
                out.append(self._out(s, self._our_lcp_request(s)))
            if s["challenge"] is not None and now - s["challenge_sent"] >= RETRANSMIT_S:
                out.append(self._challenge(s))
        return out


# ---------------------------------------------------------------- serving in a namespace

def serve(args) -> int:
    import scapy.layers.l2  # noqa: F401
    from scapy.arch.linux import L2Socket
    from diagnose.net.l2 import drain, ethernet_hwaddr, format_mac

    hwaddr, error = ethernet_hwaddr(args.iface)
    if error:
        print(error, file=sys.stderr)
        return 1
    events = open(args.events, "a", buffering=1)

    def record(event):
        events.write(json.dumps(event) + "\n")

    ac = AccessConcentrator(format_mac(hwaddr), ac_name=args.ac_name, service=args.service,
                            mode=args.mode, auth=args.auth,
                            user=os.environ.get("LAB_AC_USER", ""),
                            password=os.environ.get("LAB_AC_PASSWORD", ""),
                            message=args.message,
                            pads_error=(args.pads_error_tag, args.pads_error_text),
                            on_event=record)
    socks = {t: L2Socket(iface=args.iface, type=t) for t in (ETH_P_PPP_DISC, ETH_P_PPP_SES)}
    by_fd = {s.ins.fileno(): s for s in socks.values()}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Path(args.ready).write_text("ready\n")
    end = time.monotonic() + LIFETIME_S
    while time.monotonic() < end:
        ready, _, _ = select.select(list(by_fd), [], [], 0.1)
        out = []
        for fd in ready:
            for frame, _ in drain(by_fd[fd].ins):
                out += ac.handle(frame)
        out += ac.tick(time.monotonic())
        for frame in out:
            ethertype = int.from_bytes(frame[12:14], "big")
            socks[ethertype].send(frame)
    return 0


def dial(args) -> int:
    """One test login with diagnose's client, printed as JSON: the lab's stand-in for pppd."""
    from diagnose.net import ppp_secrets, ppp_session
    creds = ppp_secrets.Credentials(os.environ["LAB_PPP_USER"], os.environ["LAB_PPP_PASSWORD"],
                                    os.environ["LAB_PPP_PASSWORD"], "lab")
    print(json.dumps(ppp_session.login(args.iface, creds=creds, budget=args.budget)))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--iface", required=True)
    s.add_argument("--mode", choices=("accept", "refuse", "pads-error", "lcp-timeout"),
                   default="accept")
    s.add_argument("--auth", choices=("pap", "chap"), default="pap")
    s.add_argument("--ac-name", default="LAB-BRAS")
    s.add_argument("--service", default="lab-internet")
    s.add_argument("--message", default=DEFAULT_MESSAGE)
    s.add_argument("--pads-error-tag", choices=sorted(ERROR_TAGS), default="AC-System-Error")
    s.add_argument("--pads-error-text", default="Too many sessions for this account")
    s.add_argument("--events", required=True)
    s.add_argument("--ready", required=True)
    d = sub.add_parser("dial")
    d.add_argument("--iface", required=True)
    d.add_argument("--budget", type=float, default=6.0)
    args = parser.parse_args(argv)
    return serve(args) if args.command == "serve" else dial(args)


if __name__ == "__main__":
    sys.exit(main())
