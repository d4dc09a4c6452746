"""LCP and IPCP option negotiation of the test login (RFC 1661 section 5, RFC 1332, RFC 1877).

Pure functions, no I/O: what we ask for, what we answer to the AC's Configure-Request, and how
our own request changes after the AC's Configure-Nak or Configure-Reject. The session
(ppp_session.py) decides when to send; the bytes come from ppp_frames.py.
"""
from __future__ import annotations

import os
import struct

from .ppp_frames import (
    CHAP_MD5, CONF_ACK, CONF_NAK, CONF_REJ, OPT_AUTH, OPT_DNS1, OPT_DNS2, OPT_IP, OPT_MAGIC,
    OPT_MRU, PROTO_CHAP, PROTO_PAP, build_options, ipv4,
)

Options = list[tuple[int, bytes]]

OUR_MRU = 1492   # 1500 minus the PPPoE and PPP headers (RFC 2516 section 7)
MIN_MRU = 64     # a peer asking for less could not even receive an LCP packet
MAX_MRU = 1500   # what an Ethernet frame carries without RFC 4638
NO_ADDRESS = bytes(4)   # 0.0.0.0: "tell me" in an IPCP request


def new_magic() -> int:
    """A random, non-zero LCP Magic-Number."""
    return struct.unpack("!I", os.urandom(4))[0] or 1


# ---------------------------------------------------------------- LCP

def lcp_request(magic: int) -> Options:
    """Our first LCP Configure-Request: the MRU PPPoE leaves, and a Magic-Number."""
    return [(OPT_MRU, struct.pack("!H", OUR_MRU)), (OPT_MAGIC, struct.pack("!I", magic))]


def lcp_answer(options: Options, our_magic: int) -> tuple[int, bytes, dict]:
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


def lcp_adjust(ours: Options, code: int, options: Options, fresh_magic: int) -> Options:
    """Our LCP request after the AC's Nak (take its MRU if sane; a Magic-Number Nak means a
    collision: take fresh_magic) or Reject (drop what it rejected)."""
    if code == CONF_REJ:
        rejected = {kind for kind, _ in options}
        return [(k, v) for k, v in ours if k not in rejected]
    adjusted = dict(ours)
    for kind, value in options:
        if kind == OPT_MRU and len(value) == 2 and \
                MIN_MRU <= struct.unpack("!H", value)[0] <= MAX_MRU:
            adjusted[OPT_MRU] = value
        elif kind == OPT_MAGIC and OPT_MAGIC in adjusted:
            adjusted[OPT_MAGIC] = struct.pack("!I", fresh_magic)
    return [(k, adjusted[k]) for k, _ in ours]


def magic_of(ours: Options) -> int | None:
    value = dict(ours).get(OPT_MAGIC)
    return struct.unpack("!I", value)[0] if value is not None else None


def mru_of(ours: Options) -> int:
    """The MRU our request settled on (1500 when the AC rejected the option)."""
    return struct.unpack("!H", dict(ours).get(OPT_MRU, struct.pack("!H", MAX_MRU)))[0]


# ---------------------------------------------------------------- IPCP

def ipcp_request() -> Options:
    """Our first IPCP Configure-Request: an address and two DNS servers, all to be given."""
    return [(OPT_IP, NO_ADDRESS), (OPT_DNS1, NO_ADDRESS), (OPT_DNS2, NO_ADDRESS)]


def ipcp_answer(options: Options) -> tuple[int, bytes, str | None]:
    """Our answer to the AC's IPCP Configure-Request: (code, data, the AC's address).

    Its own IP-Address is acked; anything else (compression, WINS...) is rejected."""
    known = [(k, v) for k, v in options if k == OPT_IP and len(v) == 4]
    others = [(k, v) for k, v in options if (k, v) not in known]
    if others:
        return CONF_REJ, build_options(others), None
    return CONF_ACK, build_options(options), ipv4(known[0][1]) if known else None


def ipcp_adjust(want: Options, code: int, options: Options) -> Options | None:
    """Our IPCP request after the AC's Nak (take the values it gives) or Reject (drop the
    DNS options it rejects); None when it rejects the address option itself."""
    if code == CONF_REJ:
        rejected = {kind for kind, _ in options}
        if OPT_IP in rejected:
            return None
        return [(k, v) for k, v in want if k not in rejected]
    current = dict(want)
    for kind, value in options:
        if kind in current and len(value) == 4:
            current[kind] = value
    return [(k, current[k]) for k, _ in want]


def ipcp_acked(want: Options) -> tuple[str | None, list[str | None]]:
    """(our address, DNS servers) from the request the AC acked; the address None when the AC
    acked 0.0.0.0 (it assigned nothing)."""
    got = dict(want)
    address = got.get(OPT_IP, NO_ADDRESS)
    dns = [ipv4(got[k]) for k in (OPT_DNS1, OPT_DNS2) if got.get(k, NO_ADDRESS) != NO_ADDRESS]
    return (ipv4(address) if address != NO_ADDRESS else None), dns
