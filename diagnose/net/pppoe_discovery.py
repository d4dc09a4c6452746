"""PPPoE discovery probe (RFC 2516): broadcast PADI, collect the PADOs.

Only the first half of discovery is done: no PADR is ever sent, so no
session is opened on the access concentrator (AC). The opt-in test login
(ppp_session.py) does the rest and reuses the parsing here.

This is also the one home of the PPPoE header and its tags: the login's
PADR, PADT and session frames (ppp_frames.py) are built and parsed with the
helpers here. Frames are built and parsed with struct, not scapy's PPPoE
layers: parsing must refuse what does not add up (scapy's dissection reads
past a declared length into the Ethernet padding) and building PADIs with
scapy cost the import of scapy.layers.ppp on every discovery (with
scapy.layers.inet, unless another probe of the run had loaded it).
tests/unit/test_ppp_wire.py holds every frame built here to scapy's layers,
byte for byte. scapy is imported only for the packet socket (l2.open_socket).
"""
from __future__ import annotations

import os
import select
import struct
import time
from typing import Collection

from .l2 import (
    ETH_HLEN, MIN_SEND_BUDGET, describe_error, drain, ethernet_hwaddr, format_mac,
    is_unicast_mac, open_socket, parse_mac, set_send_timeout, wait_end,
)

ETH_P_PPP_DISC = 0x8863  # PPPoE discovery ethertype; the kernel filters on it
ETH_MIN_FRAME = 60  # without FCS; we pad ourselves rather than rely on the NIC
BROADCAST = b"\xff" * 6

PPPOE_VER_TYPE = 0x11
PPPOE_HLEN = 6
CODE_PADI = 0x09
CODE_PADO = 0x07

TAG_END_OF_LIST = 0x0000
TAG_SERVICE_NAME = 0x0101
TAG_AC_NAME = 0x0102
TAG_HOST_UNIQ = 0x0103
TAG_AC_COOKIE = 0x0104
TAG_RELAY_SESSION_ID = 0x0110
TAG_SERVICE_NAME_ERROR = 0x0201
TAG_AC_SYSTEM_ERROR = 0x0202
TAG_GENERIC_ERROR = 0x0203
ERROR_TAGS = {TAG_SERVICE_NAME_ERROR: "Service-Name-Error", TAG_AC_SYSTEM_ERROR: "AC-System-Error",
              TAG_GENERIC_ERROR: "Generic-Error"}
MAX_ERRORS = 4  # error tags kept per packet
MAX_ECHOED = 64  # bytes of AC-Cookie / Relay-Session-Id we are willing to echo back

HOST_UNIQ_LEN = 8  # random, so only replies to *our* PADIs are counted
MAX_TEXT = 64  # characters kept from any string the AC sends
MAX_SERVICES = 16  # Service-Name tags kept per PADO
MAX_SERVICE_NAME = 255  # bytes we accept in the service_name argument

# Timing. An AC answers in a few ms on a LAN and well under 100 ms on a
# healthy access line; retries are for lost PADIs/PADOs, with a growing
# wait as RFC 2516 section 7 asks.
BACKOFF = 1.5
# Other ACs on the same segment answer the same PADI within tens of ms of
# the first one: wait this long after the first PADO before returning.
PADO_GRACE = 0.150


# ---------------------------------------------------------------- helpers

def clean_text(raw: bytes, limit: int = MAX_TEXT) -> str:
    """Wire bytes -> short printable str (UTF-8 with replacement).

    Control characters are replaced so a hostile AC cannot inject terminal
    escape sequences into the report.
    """
    text = raw[: limit * 4].decode("utf-8", "replace")[:limit]
    return "".join(
        "\ufffd" if (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else c for c in text
    )


# ---------------------------------------------------------------- parsing

def parse_tags(payload: bytes) -> list[tuple[int, bytes]] | None:
    """PPPoE tag list -> [(type, value)], None if a tag runs past the end."""
    tags = []
    pos, end = 0, len(payload)
    while pos < end:
        if end - pos < 4:
            return None  # stray bytes that cannot be a tag header
        tag_type, tag_len = struct.unpack_from("!HH", payload, pos)
        pos += 4
        if pos + tag_len > end:
            return None
        if tag_type == TAG_END_OF_LIST:
            break
        tags.append((tag_type, payload[pos : pos + tag_len]))
        pos += tag_len
    return tags


def error_tags(tags: list[tuple[int, bytes]]) -> list[dict]:
    """The Service-Name-Error, AC-System-Error and Generic-Error tags: [{"tag", "message"}]."""
    return [{"tag": ERROR_TAGS[t], "message": clean_text(v)}
            for t, v in tags if t in ERROR_TAGS][:MAX_ERRORS]


def parse_discovery(frame: bytes) -> dict | None:
    """Any well-formed PPPoE discovery frame -> {code, session, src, dst, tags}."""
    try:
        frame = bytes(frame)
        if len(frame) < ETH_HLEN + PPPOE_HLEN:
            return None
        ethertype, ver_type, code, session, length = struct.unpack_from("!HBBHH", frame, 12)
        start = ETH_HLEN + PPPOE_HLEN
        if ethertype != ETH_P_PPP_DISC or ver_type != PPPOE_VER_TYPE or start + length > len(frame):
            return None
        tags = parse_tags(frame[start:start + length])
        if tags is None:
            return None
        return {"code": code, "session": session, "src": frame[6:12], "dst": frame[0:6],
                "tags": tags}
    except Exception:  # untrusted input
        return None


def parse_pado(frame: bytes, host_uniqs: bytes | Collection[bytes]) -> dict | None:
    """Ethernet frame -> PADO facts, or None unless it is a well-formed PADO
    answering one of our Host-Uniq values.

    Returns {"ac_mac", "dst_mac", "name", "services", "has_cookie",
    "host_uniq", "cookie", "relay_id", "errors"}; cookie and relay_id are
    the raw tag values a PADR must echo (None when absent or oversized).
    """
    try:
        if isinstance(host_uniqs, (bytes, bytearray)):
            host_uniqs = (bytes(host_uniqs),)
        found = parse_discovery(frame)
        # an AC must answer from its own unicast address, with no session yet
        if (found is None or found["code"] != CODE_PADO or found["session"] != 0
                or not is_unicast_mac(found["src"])):
            return None
        src, tags = found["src"], found["tags"]
        uniq = next((v for t, v in tags if t == TAG_HOST_UNIQ), None)
        if uniq is None or uniq not in host_uniqs:
            return None
        name = next((v for t, v in tags if t == TAG_AC_NAME), b"")
        services: list[str] = []
        for t, v in tags:
            if t == TAG_SERVICE_NAME and len(services) < MAX_SERVICES:
                s = clean_text(v)
                if s not in services:
                    services.append(s)
        cookie = next((v for t, v in tags if t == TAG_AC_COOKIE), None)
        relay = next((v for t, v in tags if t == TAG_RELAY_SESSION_ID), None)
        return {
            "ac_mac": format_mac(src),
            "dst_mac": format_mac(found["dst"]),
            "name": clean_text(name),
            "services": services,
            "has_cookie": cookie is not None,
            "host_uniq": uniq,
            "cookie": cookie if cookie is not None and len(cookie) <= MAX_ECHOED else None,
            "relay_id": relay if relay is not None and len(relay) <= MAX_ECHOED else None,
            "errors": error_tags(tags),
        }
    except Exception:  # untrusted input: never let it crash the probe
        return None


def tag(tag_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", tag_type, len(value)) + value


def pppoe_frame(dst: bytes, src: bytes, ethertype: int, code: int, session: int,
                payload: bytes) -> bytes:
    """Ethernet + PPPoE header (RFC 2516 section 4) around payload, padded to ETH_MIN_FRAME."""
    header = dst + src + struct.pack("!HBBHH", ethertype, PPPOE_VER_TYPE, code, session,
                                     len(payload))
    return (header + payload).ljust(ETH_MIN_FRAME, b"\x00")


def build_padi(src_mac: bytes, host_uniq: bytes, service_name: bytes = b"") -> bytes:
    """Broadcast PADI frame with Service-Name and Host-Uniq tags."""
    return pppoe_frame(BROADCAST, src_mac, ETH_P_PPP_DISC, CODE_PADI, 0,
                       tag(TAG_SERVICE_NAME, service_name) + tag(TAG_HOST_UNIQ, host_uniq))


def plan_windows(timeout: float, attempts: int, budget: float) -> list[float]:
    """Wait after each PADI: timeout, x1.5, x2.25..., shrunk to fit budget."""
    windows = [timeout * BACKOFF ** i for i in range(attempts)]
    total = sum(windows)
    if total > budget:
        windows = [w * budget / total for w in windows]
    return windows


# ---------------------------------------------------------------- probe

def discover(
    iface: str,
    *,
    timeout: float = 1.0,
    attempts: int = 3,
    service_name: str = "",
    budget: float | None = None,
    src_mac: str | None = None,
    deadline: float | None = None,
) -> dict:
    """Send up to `attempts` PADIs on iface and collect the PADOs.

    budget: seconds for all attempts (default attempts * timeout), counted
    once the socket is open (loading scapy, a one-time set-up of the process,
    comes before). deadline: time.monotonic() after which it never
    waits (the caller's own deadline). The backoff windows are shrunk so
    every attempt fits. Returns as soon as an attempt got PADOs (plus PADO_GRACE).

    Returns {"outcome": "pado"|"no_pado"|"error", "interface", "attempts"
    (PADIs sent), "acs": [{"name", "mac", "services", "has_cookie",
    "latency_ms", "errors"}], "error": None|str}. Never raises.
    """
    result: dict = {
        "outcome": "error", "interface": iface, "attempts": 0, "acs": [], "error": None,
    }
    try:
        if budget is None:
            budget = attempts * timeout
        if not (isinstance(attempts, int) and attempts >= 1 and timeout > 0 and budget > 0):
            result["error"] = "invalid arguments: need attempts >= 1, timeout > 0, budget > 0"
            return result
        service = (service_name or "").encode("utf-8")
        if len(service) > MAX_SERVICE_NAME:
            result["error"] = "service_name too long"
            return result
        hwaddr, error = ethernet_hwaddr(iface)
        if error:
            result["error"] = error
            return result
        mac = hwaddr
        if src_mac is not None:
            mac = parse_mac(src_mac)
            if mac is None or not is_unicast_mac(mac):
                result["error"] = "invalid src_mac: %r" % (src_mac,)
                return result
        return _run(result, iface, mac, mac != hwaddr, service, timeout, attempts, budget,
                    deadline)
    except Exception as exc:  # never raise to the caller
        result["outcome"] = "error"
        result["error"] = describe_error(exc, iface)
        return result


def _run(result, iface, mac, promisc, service, timeout, attempts, budget, deadline):
    # Promiscuous only when spoofing a MAC (PADOs go to that address); it is
    # a per-socket membership, dropped when the socket closes.
    sock = open_socket(iface, ETH_P_PPP_DISC, promisc)
    try:
        fd = sock.ins
        deadline = wait_end(budget, deadline)
        windows = plan_windows(timeout, attempts, deadline - time.monotonic())
        sent: dict[bytes, float] = {}  # Host-Uniq -> send time (one per PADI)
        acs: dict[tuple[str, str], dict] = {}
        first_pado: float | None = None
        for window in windows:
            now = time.monotonic()
            if deadline - now < MIN_SEND_BUDGET:
                break
            uniq = os.urandom(HOST_UNIQ_LEN)
            frame = build_padi(mac, uniq, service)
            set_send_timeout(fd, deadline - now)
            sent_at = time.monotonic()  # before send: latency includes the kernel's send path
            sock.send(frame)
            sent[uniq] = sent_at
            result["attempts"] += 1
            stop = min(sent_at + window, deadline)
            while True:
                now = time.monotonic()
                if first_pado is not None:
                    stop = min(first_pado + PADO_GRACE, deadline)
                if now >= stop:
                    break
                ready, _, _ = select.select([fd], [], [], stop - now)
                if not ready:
                    continue
                for data, got in drain(fd):  # our own PADIs are skipped
                    info = parse_pado(data, sent)
                    if info is None:
                        continue
                    key = (info["ac_mac"], info["name"])
                    if key not in acs:  # keep the first answer of each AC
                        acs[key] = {
                            "name": info["name"],
                            "mac": info["ac_mac"],
                            "services": info["services"],
                            "has_cookie": info["has_cookie"],
                            "latency_ms": round((got - sent[info["host_uniq"]]) * 1000.0, 3),
                            "errors": info["errors"],
                        }
                    if first_pado is None:
                        first_pado = got
                    if got >= deadline:
                        break
            if acs:
                break
        if not result["attempts"]:  # nothing sent: says nothing about the line
            result["error"] = "time budget used up before sending"
            return result
        result["acs"] = list(acs.values())
        result["outcome"] = "pado" if acs else "no_pado"
        return result
    finally:
        sock.close()
