"""ICMP echo, one home: building requests, reading replies and opening the socket, for every echo
diagnose sends itself: probe_series' series (line_quality's loss and delay, and through
probe_series.echo the gateway's and internet targets' echoes in net/reach) and path_mtu's
don't-fragment probes. Windows uses IcmpSendEcho2 instead (net/icmp_windows.py).

Pure functions and one opener; never raises on received data. The system ping, the fallback where
no ICMP socket is allowed, is read by net/reach.read_ping alone.
"""
from __future__ import annotations

import socket
import struct
import sys

ECHO_TYPES = {socket.AF_INET: (8, 0), socket.AF_INET6: (128, 129)}   # request, reply
ICMP_ECHO, ICMP_ECHO_REPLY = ECHO_TYPES[socket.AF_INET]
ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED = 3, 4   # IPv4: type, and its code "fragmentation needed"
DATAGRAM, RAW = "icmp", "icmp-raw"          # how the socket was opened: the probes' method


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(family: int, ident: int, sequence: int, payload: bytes = b"") -> bytes:
    kind = ECHO_TYPES[family][0]
    header = struct.pack("!BBHHH", kind, 0, 0, ident, sequence)
    check = checksum(header + payload) if family == socket.AF_INET else 0   # v6: the kernel's
    return struct.pack("!BBHHH", kind, 0, check, ident, sequence) + payload


def parse_echo_reply(family: int, data: bytes, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, else None. Raw IPv4 sockets include the IP header."""
    if raw and family == socket.AF_INET:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < 8 or data[0] != ECHO_TYPES[family][1] or data[1] != 0:
        return None
    ident, sequence = struct.unpack("!HH", data[4:8])
    return ident, sequence


def open_echo_socket(family: int, privileged: bool,
                     methods: tuple[str, ...] = (DATAGRAM, RAW)) -> tuple[str, socket.socket] | None:
    """A non-blocking ICMP socket and how it was opened: by default an unprivileged datagram
    socket (where net.ipv4.ping_group_range allows it), else raw as administrator; `methods`
    gives another order or only one. None when none works. None on Windows: no datagram ICMP
    sockets, and raw ones lose replies to the firewall (under Wine they gave 1 s round trips
    for a 1 ms link); IcmpSendEcho2 (net/icmp_windows.py) and TCP handshakes do the work there."""
    if sys.platform == "win32":
        return None
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    kinds = {DATAGRAM: socket.SOCK_DGRAM, RAW: socket.SOCK_RAW}
    attempts = [(method, kinds[method]) for method in methods if method != RAW or privileged]
    for method, kind in attempts:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue
        sock.setblocking(False)
        return method, sock
    return None
