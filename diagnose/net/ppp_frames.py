"""The test login's frame codec: PADR, PADS, PADT and PPPoE session frames, and the PPP control
packets inside them (LCP, PAP, CHAP-MD5, IPCP; RFC 2516, 1661, 1334, 1994, 1332, 1877). Pure
functions that build what the login sends and parse what it receives; the PPPoE header and tags
come from pppoe_discovery.py, what to put in the options from ppp_options.py.

Every received frame is untrusted: parsed with bounds checks, anything malformed gives None;
the answers built here are capped. struct rather than scapy's PPP layers, measured: scapy's
dissection accepts what does not add up (a CHAP value or LCP option running past its declared
length is filled from the Ethernet padding) so every bound below would be needed anyway, and it
takes about 0.3 ms a frame against about 1.5 us here, which matters when a hostile LAN floods the
login. tests/unit/test_ppp_wire.py holds each frame built here to scapy's layers, byte for byte,
and the lab's access concentrator (tests/lab/ppp_ac.py) is written with them: the product's
codec and its referee stay independent.
"""
from __future__ import annotations

import hashlib
import ipaddress
import struct

from .l2 import ETH_HLEN
from .pppoe_discovery import (
    ETH_P_PPP_DISC, PPPOE_HLEN, PPPOE_VER_TYPE, TAG_AC_COOKIE, TAG_HOST_UNIQ,
    TAG_RELAY_SESSION_ID, TAG_SERVICE_NAME, clean_text, error_tags, parse_discovery, pppoe_frame,
    tag,
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

MAX_TEXT = 120   # characters kept from a server's message


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
