"""Ethernet helpers shared by the raw-frame probes (DHCP, PPPoE discovery).

MAC text <-> bytes, the interface's hardware address, the packet socket
(send timeout, draining received frames) and error messages. scapy is
imported only inside open_socket, so importing this module is cheap.

A probe's wait starts once its socket is open: loading scapy is a one-time
set-up of the process (0.3 s to over a second on a slow or busy PC), not time
spent waiting for an answer. The caller's deadline still bounds the wait, and
the checks run probes in a thread they stop waiting for (checks/packet_probes).
"""
from __future__ import annotations

import errno
import socket
import struct
import sys
import time

ETH_HLEN = 14
ARPHRD_ETHER = 1
SIOCGIFHWADDR = 0x8927
PACKET_OUTGOING = 4  # sll_pkttype of frames we sent ourselves
# Wait left after opening the socket below which no request is worth
# sending (a reply could not come back in time anyway).
MIN_SEND_BUDGET = 0.005
RECV_BUFSIZE = 65535
MAX_DRAIN = 256  # frames read per wake-up before re-checking the clock


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


def is_unicast_mac(raw: bytes) -> bool:
    return len(raw) == 6 and not raw[0] & 0x01 and raw != b"\x00" * 6


def iface_hwaddr(iface: str) -> tuple[int, bytes]:
    """(ARPHRD type, hardware address) of iface; OSError if it is missing.

    An ioctl on a UDP socket: needs no privilege, so a missing interface is
    reported as such rather than as a raw-socket failure.
    """
    if sys.platform != "linux":
        raise OSError(errno.ENOSYS, "packet sockets are Linux only here")
    import fcntl

    name = iface.encode("utf-8")
    if not name or len(name) >= 16 or b"\x00" in name or b"/" in name:
        raise OSError(errno.ENODEV, "invalid interface name")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", name))
    family = struct.unpack_from("H", ifr, 16)[0]
    return family, ifr[18:24]


def ethernet_hwaddr(iface: str) -> tuple[bytes | None, str | None]:
    """(hardware address, None) of an Ethernet iface, else (None, error)."""
    try:
        hatype, hwaddr = iface_hwaddr(iface)
    except OSError as exc:
        return None, describe_error(exc, iface)
    if hatype != ARPHRD_ETHER:
        return None, "not an Ethernet interface: %s" % iface
    return hwaddr, None


def wait_end(timeout: float, deadline: float | None) -> float:
    """When a probe stops waiting: `timeout` from now, never after `deadline`."""
    end = time.monotonic() + timeout
    return end if deadline is None else min(end, deadline)


def open_socket(iface: str, ethertype: int, promisc: bool):
    """scapy L2Socket on iface receiving only `ethertype` frames."""
    # scapy.layers.l2 first: it registers Ethernet in conf.l2types, without
    # which L2Socket logs "Unable to guess type" on stderr.
    import scapy.layers.l2  # noqa: F401
    from scapy.arch.linux import L2Socket

    return L2Socket(iface=iface, type=ethertype, promisc=promisc)


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    """Kernel-level SO_SNDTIMEO, so a stuck send cannot outlive the deadline
    (sock.settimeout would also make our MSG_DONTWAIT reads wait)."""
    seconds = max(seconds, MIN_SEND_BUDGET)
    sec = int(seconds)
    sock.setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDTIMEO,
        struct.pack("@ll", sec, int((seconds - sec) * 1e6)),
    )


def drain(fd: socket.socket):
    """Yield (frame, arrival time) for what is queued on fd, without waiting.

    At most MAX_DRAIN reads; frames we sent ourselves are skipped.
    """
    if sys.platform != "linux":
        return
    for _ in range(MAX_DRAIN):
        try:
            data, addr = fd.recvfrom(RECV_BUFSIZE, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        got = time.monotonic()
        if addr[2] != PACKET_OUTGOING:
            yield data, got


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
