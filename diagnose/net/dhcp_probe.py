"""DHCP probe: broadcast one DHCPDISCOVER and wait for a DHCPOFFER.

No DHCPREQUEST is ever sent, so the server commits no lease and the
machine's own address is untouched. Works on an interface without an IPv4
address (raw Ethernet frames through a packet socket).

scapy is imported lazily inside the functions that need it. Parsing of
replies is pure (bytes -> dict | None) and never trusts the packet.
"""
from __future__ import annotations

import os
import select
import socket
import struct
import time

from .l2 import (
    ETH_HLEN, MIN_SEND_BUDGET, describe_error, drain, ethernet_hwaddr, format_mac,
    is_unicast_mac, open_socket, parse_mac, set_send_timeout, wait_end,
)

ETH_P_IP = 0x0800  # the kernel hands us IPv4 frames only; the rest is checked here
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

def discover(iface: str, mac: str, *, timeout: float = 1.5,
             deadline: float | None = None) -> dict:
    """Send one DHCPDISCOVER on iface (chaddr = mac) and wait for an offer.

    timeout: seconds to wait, counted once the socket is open (loading
    scapy, a one-time set-up of the process, comes before).
    deadline: time.monotonic() after which it never waits (the caller's own
    deadline; an import in progress cannot be cut short).
    Returns at the first matching DHCPOFFER.

    Returns {"outcome": "offer"|"no_answer"|"error", "interface", "server"
    (server identifier, else IP source), "offered" (yiaddr), "latency_ms",
    "error": None|str}. Never raises.
    """
    result: dict = {
        "outcome": "error", "interface": iface, "server": None, "offered": None,
        "latency_ms": None, "error": None,
    }
    try:
        if not timeout > 0:
            result["error"] = "invalid arguments: need timeout > 0"
            return result
        chaddr = parse_mac(mac)
        if chaddr is None or not is_unicast_mac(chaddr):
            result["error"] = "invalid mac: %r" % (mac,)
            return result
        hwaddr, error = ethernet_hwaddr(iface)
        if error:
            result["error"] = error
            return result
        return _run(result, iface, chaddr, chaddr != hwaddr, timeout, deadline)
    except Exception as exc:  # never raise to the caller
        result["outcome"] = "error"
        result["error"] = describe_error(exc, iface)
        return result


def _run(result, iface, chaddr, promisc, timeout, deadline):
    xid = struct.unpack("!I", os.urandom(4))[0]
    frame = build_discover(chaddr, xid)
    # Promiscuous only when probing with a MAC that is not the interface's
    # (a server ignoring the broadcast flag unicasts to chaddr); it is a
    # per-socket membership, dropped when the socket closes.
    sock = open_socket(iface, ETH_P_IP, promisc)
    try:
        fd = sock.ins
        deadline = wait_end(timeout, deadline)
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
            for data, got in drain(fd):
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
