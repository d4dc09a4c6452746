"""The test login's authentication stage: PAP (RFC 1334) or CHAP-MD5 (RFC 1994), whichever the
AC asked for in LCP.

The only stage that handles the account: the password goes into a PAP request or a CHAP digest
and nowhere else; the result carries the protocol, the outcome and the server's message (which
login() scrubs of both halves of the account like every other string).
"""
from __future__ import annotations

from .ppp_frames import (
    CHAP_CHALLENGE, CHAP_FAILURE, CHAP_SUCCESS, MAX_TEXT, PAP_ACK, PAP_NAK, PROTO_CHAP, PROTO_PAP,
    chap_md5, chap_response, pap_message, pap_request, parse_chap_challenge,
)
from .ppp_link import Link, Stop
from .pppoe_discovery import clean_text

CHAP_WAIT_S = 3.0        # the AC sends the challenge: this long for it and the verdict
MAX_CHALLENGES = 6       # CHAP challenges answered before we stop answering


def authenticate(link: Link, creds, protocol: str | None) -> dict:
    """Authenticate with `protocol` (what the AC asked for: None, "pap", "chap-md5" or
    "unsupported:..."). Returns {"protocol", "outcome": "none"|"ok", "message"}; raises Stop
    (auth_unsupported, auth_refused, auth_timeout) with `auth` already holding what was seen."""
    if protocol is None:
        return {"protocol": None, "outcome": "none", "message": None}
    if protocol not in ("pap", "chap-md5"):
        raise Stop("auth_unsupported", "LCP", protocol)
    auth = link.r["auth"] = {"protocol": protocol, "outcome": None, "message": None}
    user = creds.user.encode("utf-8")
    if protocol == "pap":
        _pap(link, auth, user, (creds.secret("pap") or "").encode("utf-8"))
    else:
        _chap(link, auth, user, (creds.secret("chap") or "").encode("utf-8"))
    auth["outcome"] = "ok"
    return auth


def _pap(link: Link, auth: dict, user: bytes, password: bytes) -> None:
    link.step = "PAP"
    timer = link.restart_timer()
    ident = link.next_id()
    request = pap_request(ident, user, password)
    while True:
        if timer.expired():
            raise Stop("auth_timeout", "PAP")
        if timer.due():
            timer.sending()
            link.send_ppp(PROTO_PAP, request)
        for _, code, rid, data in link.packets(timer.until(), (PROTO_PAP,)):
            if rid != ident or code not in (PAP_ACK, PAP_NAK):
                continue
            auth["message"] = pap_message(data) or None
            if code == PAP_NAK:
                auth["outcome"] = "refused"
                raise Stop("auth_refused", "PAP", auth["message"])
            return


def _chap(link: Link, auth: dict, user: bytes, secret: bytes) -> None:
    link.step = "CHAP"
    deadline = link.stage_deadline(CHAP_WAIT_S)
    answered: set[int] = set()
    while True:
        if link.clock.monotonic() >= deadline:
            raise Stop("auth_timeout", "CHAP")
        for _, code, ident, data in link.packets(deadline, (PROTO_CHAP,)):
            if code == CHAP_CHALLENGE:
                challenge = parse_chap_challenge(data)
                if challenge is None or len(answered) >= MAX_CHALLENGES:
                    continue
                answered.add(ident)
                link.send_ppp(PROTO_CHAP, chap_response(
                    ident, chap_md5(ident, secret, challenge[0]), user))
            elif code in (CHAP_SUCCESS, CHAP_FAILURE) and ident in answered:
                auth["message"] = clean_text(data, MAX_TEXT) or None
                if code == CHAP_FAILURE:
                    auth["outcome"] = "refused"
                    raise Stop("auth_refused", "CHAP", auth["message"])
                return
