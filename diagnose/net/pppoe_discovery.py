"""PPPoE discovery probe (RFC 2516): broadcast PADI, collect the PADOs.

Only the first half of discovery is done: no PADR is ever sent, so no
session is opened on the access concentrator (AC).

scapy is imported lazily inside the functions that need it, so importing
this module is cheap. Parsing of replies is pure (bytes -> dict | None) and
never trusts the packet.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import time
from typing import Collection

ETH_P_PPP_DISC = 0x8863  # PPPoE discovery ethertype; the kernel filters on it
ETH_HLEN = 14
ETH_MIN_FRAME = 60  # without FCS; we pad ourselves rather than rely on the NIC
ARPHRD_ETHER = 1
SIOCGIFHWADDR = 0x8927
PACKET_OUTGOING = 4  # sll_pkttype of frames we sent ourselves

PPPOE_VER_TYPE = 0x11
PPPOE_HLEN = 6
CODE_PADI = 0x09
CODE_PADO = 0x07

TAG_END_OF_LIST = 0x0000
TAG_SERVICE_NAME = 0x0101
TAG_AC_NAME = 0x0102
TAG_HOST_UNIQ = 0x0103
TAG_AC_COOKIE = 0x0104

HOST_UNIQ_LEN = 8  # random, so only replies to *our* PADIs are counted
MAX_TEXT = 64  # characters kept from any string the AC sends
MAX_SERVICES = 16  # Service-Name tags kept per PADO
MAX_SERVICE_NAME = 255  # bytes we accept in the service_name argument
RECV_BUFSIZE = 65535

# Timing. An AC answers in a few ms on a LAN and well under 100 ms on a
# healthy access line; retries are for lost PADIs/PADOs, with a growing
# wait as RFC 2516 section 7 asks.
BACKOFF = 1.5
# Other ACs on the same segment answer the same PADI within tens of ms of
# the first one: wait this long after the first PADO before returning.
PADO_GRACE = 0.150
# Budget left after importing scapy and opening the socket below which no
# PADI is worth sending (a reply could not come back in time anyway).
MIN_SEND_BUDGET = 0.005
MAX_DRAIN = 256  # frames read per wake-up before re-checking the clock


# ---------------------------------------------------------------- helpers

def format_mac(raw: bytes) -> str:
    return ":".join("%02x" % b for b in raw)


def parse_mac(text: str) -> bytes | None:
    """'aa:bb:cc:dd:ee:ff' (or '-' separated) -> 6 bytes, else None."""
    if not isinstance(text, str):
        return None
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(
        1 <= len(p) <= 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    ):
        return None
    return bytes(int(p, 16) for p in parts)


def _is_unicast_mac(raw: bytes) -> bool:
    return len(raw) == 6 and not raw[0] & 0x01 and raw != b"\x00" * 6


def clean_text(raw: bytes, limit: int = MAX_TEXT) -> str:
    """Wire bytes -> short printable str (UTF-8 with replacement).

    Control characters are replaced so a hostile AC cannot inject terminal
    escape sequences into the report.
    """
    text = raw[: limit * 4].decode("utf-8", "replace")[:limit]
    return "".join(
        "\ufffd" if (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else c for c in text
    )


def iface_hwaddr(iface: str) -> tuple[int, bytes]:
    """(ARPHRD type, hardware address) of iface; OSError if it is missing.

    Uses an ioctl on a UDP socket: no privilege needed, works before we try
    to open a raw socket, so a missing interface gives a clear message.
    """
    name = iface.encode("utf-8")
    if not name or len(name) >= 16 or b"\x00" in name or b"/" in name:
        raise OSError(errno.ENODEV, "invalid interface name")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", name))
    family = struct.unpack_from("H", ifr, 16)[0]
    return family, ifr[18:24]


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    """Kernel-level SO_SNDTIMEO, so a stuck send cannot outlive the deadline
    (sock.settimeout would also make our MSG_DONTWAIT reads wait)."""
    seconds = max(seconds, MIN_SEND_BUDGET)
    sec = int(seconds)
    sock.setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDTIMEO,
        struct.pack("@ll", sec, int((seconds - sec) * 1e6)),
    )


def describe_error(exc: BaseException, iface: str) -> str:
    if isinstance(exc, ImportError):
        return "scapy not available: %s" % exc
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (
        errno.EPERM, errno.EACCES,
    ):
        return "permission denied: raw sockets need root or CAP_NET_RAW"
    code = getattr(exc, "errno", None)
    if code in (errno.ENODEV, errno.ENXIO):
        return "interface not found: %s" % iface
    if code == errno.ENETDOWN:
        return "interface is down: %s" % iface
    return "%s: %s" % (type(exc).__name__, exc)


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


def parse_pado(frame: bytes, host_uniqs: bytes | Collection[bytes]) -> dict | None:
    """Ethernet frame -> PADO facts, or None unless it is a well-formed PADO
    answering one of our Host-Uniq values.

    Returns {"ac_mac", "dst_mac", "name", "services", "has_cookie",
    "host_uniq"}.
    """
    try:
        if isinstance(host_uniqs, (bytes, bytearray)):
            host_uniqs = (bytes(host_uniqs),)
        frame = bytes(frame)
        if len(frame) < ETH_HLEN + PPPOE_HLEN:
            return None
        (ethertype,) = struct.unpack_from("!H", frame, 12)
        if ethertype != ETH_P_PPP_DISC:
            return None
        src = frame[6:12]
        if not _is_unicast_mac(src):
            return None  # an AC must answer from its own unicast address
        ver_type, code, session, length = struct.unpack_from("!BBHH", frame, ETH_HLEN)
        if ver_type != PPPOE_VER_TYPE or code != CODE_PADO or session != 0:
            return None
        start = ETH_HLEN + PPPOE_HLEN
        if start + length > len(frame):
            return None  # truncated (anything after `length` is padding)
        tags = parse_tags(frame[start : start + length])
        if tags is None:
            return None
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
        return {
            "ac_mac": format_mac(src),
            "dst_mac": format_mac(frame[0:6]),
            "name": clean_text(name),
            "services": services,
            "has_cookie": any(t == TAG_AC_COOKIE for t, _ in tags),
            "host_uniq": uniq,
        }
    except Exception:  # untrusted input: never let it crash the probe
        return None


def build_padi(src_mac: bytes, host_uniq: bytes, service_name: bytes = b"") -> bytes:
    """Broadcast PADI frame with Service-Name and Host-Uniq tags."""
    from scapy.layers.l2 import Ether
    from scapy.layers.ppp import PPPoED, PPPoED_Tags, PPPoETag

    pkt = (
        Ether(dst="ff:ff:ff:ff:ff:ff", src=format_mac(src_mac), type=ETH_P_PPP_DISC)
        / PPPoED(code=CODE_PADI, sessionid=0)
        / PPPoED_Tags(tag_list=[
            PPPoETag(tag_type=TAG_SERVICE_NAME, tag_value=service_name),
            PPPoETag(tag_type=TAG_HOST_UNIQ, tag_value=host_uniq),
        ])
    )
    return bytes(pkt).ljust(ETH_MIN_FRAME, b"\x00")


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
) -> dict:
    """Send up to `attempts` PADIs on iface and collect the PADOs.

    budget: hard limit in seconds for the whole call, scapy import included
    (default attempts * timeout). The backoff windows are shrunk so every
    attempt fits. Returns as soon as an attempt got PADOs (plus PADO_GRACE).

    Returns {"outcome": "pado"|"no_pado"|"error", "interface", "attempts"
    (PADIs sent), "acs": [{"name", "mac", "services", "has_cookie",
    "latency_ms"}], "error": None|str}. Never raises.
    """
    start = time.monotonic()
    result: dict = {
        "outcome": "error", "interface": iface, "attempts": 0, "acs": [], "error": None,
    }
    try:
        if budget is None:
            budget = attempts * timeout
        if not (isinstance(attempts, int) and attempts >= 1 and timeout > 0 and budget > 0):
            result["error"] = "invalid arguments: need attempts >= 1, timeout > 0, budget > 0"
            return result
        deadline = start + budget
        service = (service_name or "").encode("utf-8")
        if len(service) > MAX_SERVICE_NAME:
            result["error"] = "service_name too long"
            return result
        try:
            hatype, hwaddr = iface_hwaddr(iface)
        except OSError as exc:
            result["error"] = describe_error(exc, iface)
            return result
        if hatype != ARPHRD_ETHER:
            result["error"] = "not an Ethernet interface: %s" % iface
            return result
        mac = hwaddr
        if src_mac is not None:
            mac = parse_mac(src_mac)
            if mac is None or not _is_unicast_mac(mac):
                result["error"] = "invalid src_mac: %r" % (src_mac,)
                return result
        return _run(result, iface, mac, mac != hwaddr, service, timeout, attempts, deadline)
    except Exception as exc:  # never raise to the caller
        result["outcome"] = "error"
        result["error"] = describe_error(exc, iface)
        return result


def _run(result, iface, mac, promisc, service, timeout, attempts, deadline):
    # scapy.layers.l2 first: it registers Ethernet in conf.l2types, without
    # which L2Socket logs "Unable to guess type" on stderr.
    import scapy.layers.l2  # noqa: F401
    from scapy.arch.linux import L2Socket

    # Promiscuous only when spoofing a MAC (PADOs go to that address); it is
    # a per-socket membership, dropped when the socket closes.
    sock = L2Socket(iface=iface, type=ETH_P_PPP_DISC, promisc=promisc)
    try:
        fd = sock.ins
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
                for _ in range(MAX_DRAIN):
                    try:
                        data, addr = fd.recvfrom(RECV_BUFSIZE, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        break
                    got = time.monotonic()
                    if addr[2] == PACKET_OUTGOING:
                        continue  # our own PADI
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
                        }
                    if first_pado is None:
                        first_pado = got
                    if got >= deadline:
                        break
            if acs:
                break
        result["acs"] = list(acs.values())
        result["outcome"] = "pado" if acs else "no_pado"
        return result
    finally:
        sock.close()
