"""DHCP probe: broadcast one DHCPDISCOVER and wait for a DHCPOFFER.

No DHCPREQUEST is ever sent, so the server commits no lease and the
machine's own address is untouched. Works on an interface without an IPv4
address (raw Ethernet frames through a packet socket).

scapy is imported lazily inside the functions that need it. Parsing of
replies is pure (bytes -> dict | None) and never trusts the packet.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import time

ETH_P_IP = 0x0800  # the kernel hands us IPv4 frames only; the rest is checked here
ETH_HLEN = 14
ARPHRD_ETHER = 1
SIOCGIFHWADDR = 0x8927
PACKET_OUTGOING = 4  # sll_pkttype of frames we sent ourselves
IPPROTO_UDP = 17
DHCP_SERVER_PORT = 67
DHCP_CLIENT_PORT = 68

BOOTREQUEST = 1
BOOTREPLY = 2
HTYPE_ETHER = 1
BOOTP_FIXED_LEN = 236  # op .. file, before the magic cookie
BOOTP_MIN_LEN = 300  # RFC 1542: some relays/servers drop shorter requests
MAGIC_COOKIE = b"\x63\x82\x53\x63"
FLAG_BROADCAST = 0x8000  # ask for a broadcast reply: we have no address yet

OPT_PAD = 0
OPT_END = 255
OPT_OVERLOAD = 52
OPT_MESSAGE_TYPE = 53
OPT_SERVER_ID = 54
DHCPDISCOVER = 1
DHCPOFFER = 2
# Subnet mask, router, DNS, domain name, lease time, server id: what a real
# client asks for, so the server answers as it would for the real client.
PARAM_REQUEST_LIST = [1, 3, 6, 15, 51, 54]

RECV_BUFSIZE = 65535
# Budget left after importing scapy and opening the socket below which the
# DISCOVER is not worth sending (an offer could not come back in time).
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


def iface_hwaddr(iface: str) -> tuple[int, bytes]:
    """(ARPHRD type, hardware address) of iface; OSError if it is missing.

    An ioctl on a UDP socket: needs no privilege, so a missing interface is
    reported as such rather than as a raw-socket failure.
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

def parse_options(data: bytes, into: dict[int, bytes]) -> bool:
    """DHCP options -> into (first occurrence wins). False if malformed."""
    pos, end = 0, len(data)
    while pos < end:
        code = data[pos]
        if code == OPT_PAD:
            pos += 1
            continue
        if code == OPT_END:
            return True
        if pos + 2 > end:
            return False
        length = data[pos + 1]
        if pos + 2 + length > end:
            return False
        into.setdefault(code, data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return True  # no END: tolerated, as most clients do


def parse_offer(frame: bytes, xid: int, chaddr: bytes) -> dict | None:
    """Ethernet frame -> DHCPOFFER facts, or None unless it is a well-formed
    offer for our transaction id and hardware address.

    Returns {"server", "server_id", "ip_src", "offered", "xid"}; "server" is
    the server identifier option, else the IP source address.
    """
    try:
        frame = bytes(frame)
        if len(frame) < ETH_HLEN + 20:
            return None
        if struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
            return None
        ip = ETH_HLEN
        ver_ihl, _tos, total_len, _id, frag, _ttl, proto = struct.unpack_from(
            "!BBHHHBB", frame, ip
        )
        ihl = (ver_ihl & 0x0F) * 4
        if ver_ihl >> 4 != 4 or ihl < 20 or proto != IPPROTO_UDP:
            return None
        if total_len < ihl + 8 or ip + total_len > len(frame):
            return None  # truncated (bytes past total_len are padding)
        if frag & 0x3FFF:
            return None  # a fragment: offers are small, ignore
        ip_src = socket.inet_ntoa(frame[ip + 12 : ip + 16])
        udp = ip + ihl
        sport, dport, udp_len = struct.unpack_from("!HHH", frame, udp)
        if sport != DHCP_SERVER_PORT or dport != DHCP_CLIENT_PORT:
            return None
        if udp_len < 8 or udp + udp_len > ip + total_len:
            return None
        bootp = frame[udp + 8 : udp + udp_len]
        if len(bootp) < BOOTP_FIXED_LEN + len(MAGIC_COOKIE):
            return None
        op, htype, hlen, _hops, rx_xid = struct.unpack_from("!BBBBI", bootp, 0)
        if op != BOOTREPLY or htype != HTYPE_ETHER or hlen != 6 or rx_xid != xid:
            return None
        if bootp[28:34] != bytes(chaddr)[:6]:
            return None
        if bootp[BOOTP_FIXED_LEN : BOOTP_FIXED_LEN + 4] != MAGIC_COOKIE:
            return None
        opts: dict[int, bytes] = {}
        if not parse_options(bootp[BOOTP_FIXED_LEN + 4 :], opts):
            return None
        overload = opts.get(OPT_OVERLOAD, b"\x00")[:1]
        if overload and overload[0] & 1 and not parse_options(bootp[108:236], opts):
            return None  # options continued in the "file" field
        if overload and overload[0] & 2 and not parse_options(bootp[44:108], opts):
            return None  # ... and/or the "sname" field
        if opts.get(OPT_MESSAGE_TYPE) != bytes([DHCPOFFER]):
            return None
        server_id = opts.get(OPT_SERVER_ID)
        server_id = socket.inet_ntoa(server_id) if server_id and len(server_id) == 4 else None
        yiaddr = socket.inet_ntoa(bootp[16:20])
        return {
            "server": server_id or ip_src,
            "server_id": server_id,
            "ip_src": ip_src,
            "offered": None if yiaddr == "0.0.0.0" else yiaddr,
            "xid": rx_xid,
        }
    except Exception:  # untrusted input: never let it crash the probe
        return None


def build_discover(mac: bytes, xid: int) -> bytes:
    """Broadcast DHCPDISCOVER frame from 0.0.0.0:68 with chaddr = mac.

    The Ethernet source is mac too: DHCP snooping on access switches drops
    requests whose chaddr differs from the frame's source address.
    """
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    pkt = (
        Ether(dst="ff:ff:ff:ff:ff:ff", src=format_mac(mac), type=ETH_P_IP)
        / IP(src="0.0.0.0", dst="255.255.255.255", ttl=64)
        / UDP(sport=DHCP_CLIENT_PORT, dport=DHCP_SERVER_PORT)
        / BOOTP(op=BOOTREQUEST, xid=xid, flags=FLAG_BROADCAST, chaddr=mac + b"\x00" * 10)
        / DHCP(options=[
            ("message-type", DHCPDISCOVER),
            ("param_req_list", PARAM_REQUEST_LIST),
            "end",
        ])
    )
    bootp_len = len(pkt[BOOTP])
    if bootp_len < BOOTP_MIN_LEN:
        pkt = pkt / (b"\x00" * (BOOTP_MIN_LEN - bootp_len))  # IP/UDP lengths follow
    return bytes(pkt)


# ---------------------------------------------------------------- probe

def discover(iface: str, mac: str, *, timeout: float = 1.5) -> dict:
    """Send one DHCPDISCOVER on iface (chaddr = mac) and wait for an offer.

    timeout: hard limit in seconds for the whole call, scapy import
    included. Returns at the first matching DHCPOFFER.

    Returns {"outcome": "offer"|"no_answer"|"error", "interface", "server"
    (server identifier, else IP source), "offered" (yiaddr), "latency_ms",
    "error": None|str}. Never raises.
    """
    start = time.monotonic()
    result: dict = {
        "outcome": "error", "interface": iface, "server": None, "offered": None,
        "latency_ms": None, "error": None,
    }
    try:
        if not timeout > 0:
            result["error"] = "invalid arguments: need timeout > 0"
            return result
        deadline = start + timeout
        chaddr = parse_mac(mac)
        if chaddr is None or chaddr[0] & 0x01 or chaddr == b"\x00" * 6:
            result["error"] = "invalid mac: %r" % (mac,)
            return result
        try:
            hatype, hwaddr = iface_hwaddr(iface)
        except OSError as exc:
            result["error"] = describe_error(exc, iface)
            return result
        if hatype != ARPHRD_ETHER:
            result["error"] = "not an Ethernet interface: %s" % iface
            return result
        return _run(result, iface, chaddr, chaddr != hwaddr, deadline)
    except Exception as exc:  # never raise to the caller
        result["outcome"] = "error"
        result["error"] = describe_error(exc, iface)
        return result


def _run(result, iface, chaddr, promisc, deadline):
    # scapy.layers.l2 first: it registers Ethernet in conf.l2types, without
    # which L2Socket logs "Unable to guess type" on stderr.
    import scapy.layers.l2  # noqa: F401
    from scapy.arch.linux import L2Socket

    xid = struct.unpack("!I", os.urandom(4))[0]
    frame = build_discover(chaddr, xid)
    # Promiscuous only when probing with a MAC that is not the interface's
    # (a server ignoring the broadcast flag unicasts to chaddr); it is a
    # per-socket membership, dropped when the socket closes.
    sock = L2Socket(iface=iface, type=ETH_P_IP, promisc=promisc)
    try:
        fd = sock.ins
        now = time.monotonic()
        if deadline - now < MIN_SEND_BUDGET:
            result["error"] = "time budget used up before sending"
            return result
        set_send_timeout(fd, deadline - now)
        sent_at = time.monotonic()  # before send: latency includes the kernel's send path
        sock.send(frame)
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            ready, _, _ = select.select([fd], [], [], deadline - now)
            if not ready:
                continue
            for _ in range(MAX_DRAIN):
                try:
                    data, addr = fd.recvfrom(RECV_BUFSIZE, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    break
                got = time.monotonic()
                if addr[2] == PACKET_OUTGOING:
                    continue
                offer = parse_offer(data, xid, chaddr)
                if offer is not None:
                    result.update(
                        outcome="offer",
                        server=offer["server"],
                        offered=offer["offered"],
                        latency_ms=round((got - sent_at) * 1000.0, 3),
                    )
                    return result
                if got >= deadline:
                    break
        result["outcome"] = "no_answer"
        return result
    finally:
        sock.close()
