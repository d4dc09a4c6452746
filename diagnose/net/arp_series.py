"""A series of ARP requests to one neighbour: how many does it answer at the link level?

A router that is switched on answers every ARP request on its link within milliseconds, even when
it is hung above it (its kernel still answers); a switched-off one answers none. A link that loses
frames (a weak Wi-Fi signal, a bad cable) loses ARP requests and replies as it loses everything
else, so some, but not all, are answered. The series runs in the background (`start`) until told
to stop or its deadline, whichever comes first.

Linux only, and raw packet sockets need root (CAP_NET_RAW): anywhere else the series is not
observed (`None`), never "nothing answered". No scapy: one socket and a 42-byte frame, so starting
it costs nothing. Replies also refresh the kernel's own neighbour entry, as the kernel's ARP would.
Never raises: socket errors end the series early and are reported.
"""
from __future__ import annotations

import bisect
import errno
import select
import socket
import struct
import sys
import threading
import time
from typing import Any

from .l2 import ethernet_hwaddr

ETH_P_ARP = 0x0806
ARP_REQUEST, ARP_REPLY = 1, 2
BROADCAST = b"\xff" * 6
# One request every 25 ms while the gateway's series is not clean (a second or two at most): 40 a
# second, enough requests to tell 30 % answered from all or none within the check's deadline.
INTERVAL_S = 0.025
# Replies carry no sequence number: each is matched to the latest unanswered request sent at least
# the link's round trip before it (measured on the gateway's echoes: a slow link, H53, must not look
# like one that loses ARP) and at most REPLY_WAIT_S before it. A request still younger than its
# wait when the series stops is left out, not lost.
REPLY_WAIT_S = 0.5
MIN_SETTLE_S = 0.1


def request_frame(own_mac: bytes, own_ip: str, target_ip: str) -> bytes:
    ether = BROADCAST + own_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, ARP_REQUEST, own_mac,
                      socket.inet_aton(own_ip), b"\x00" * 6, socket.inet_aton(target_ip))
    return ether + arp


def is_reply(frame: bytes, target_ip: str, own_ip: str) -> bool:
    """An ARP reply from target_ip to own_ip (Ethernet, IPv4)."""
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return False
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, ARP_REPLY):
        return False
    return frame[28:32] == socket.inet_aton(target_ip) and frame[38:42] == socket.inet_aton(own_ip)


def source_address(target_ip: str) -> str | None:
    """The address the kernel would send from to target_ip (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((target_ip, 9))
            return probe.getsockname()[0]
    except OSError:
        return None


class Series:
    """Started with `start`, ended with `stop` (or its deadline); `result()` after that."""

    def __init__(self, device: str, target_ip: str, deadline: float,
                 interval: float = INTERVAL_S):
        self.device, self.target_ip, self.deadline, self.interval = (device, target_ip, deadline,
                                                                     interval)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent: list[float] = []
        self._replies: list[float] = []
        self._error: str | None = None
        self._ended_at: float | None = None

    def start(self) -> "Series":
        self._thread = threading.Thread(target=self._run, name="arp-series", daemon=True)
        self._thread.start()
        return self

    def stop(self, round_trip_s: float = 0.0) -> dict[str, Any]:
        """End the series; its result, replies matched for a link of this round trip."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, self.deadline - time.monotonic()) + 0.1)
        return self.result(round_trip_s)

    def result(self, round_trip_s: float = 0.0) -> dict[str, Any]:
        ended = self._ended_at or time.monotonic()
        sent_at, answered = list(self._sent), set()
        for reply in list(self._replies):
            index = bisect.bisect_right(sent_at, reply - round_trip_s + 1e-9) - 1
            while index >= 0 and reply - sent_at[index] <= REPLY_WAIT_S:
                if index not in answered:
                    answered.add(index)
                    break
                index -= 1
        settle = min(REPLY_WAIT_S, max(MIN_SETTLE_S, 3 * round_trip_s))
        counted = [i for i, at in enumerate(sent_at) if i in answered or at <= ended - settle]
        sent, received = len(counted), len(answered)
        return {"address": self.target_ip, "sent": sent, "received": received,
                "loss_pct": round(100.0 * (sent - received) / sent, 1) if sent else None,
                "error": self._error}

    def _run(self) -> None:
        try:
            self._series()
        except OSError as exc:
            self._error = errno.errorcode.get(exc.errno or 0, str(exc))
        finally:
            self._ended_at = time.monotonic()

    def _series(self) -> None:
        if sys.platform != "linux":    # packet sockets: start() never gets here elsewhere
            return
        own_mac, problem = ethernet_hwaddr(self.device)
        own_ip = source_address(self.target_ip)
        if own_mac is None or own_ip is None:
            self._error = problem or "no source address"
            return
        frame = request_frame(own_mac, own_ip, self.target_ip)
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
            sock.bind((self.device, ETH_P_ARP))
            sock.setblocking(False)
            next_send = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= self.deadline:
                    return
                if now >= next_send:
                    try:
                        sock.send(frame)
                        self._sent.append(now)
                    except (BlockingIOError, InterruptedError):
                        pass
                    next_send = now + self.interval
                wait = min(next_send, self.deadline) - now
                readable, _, _ = select.select([sock], [], [], max(0.0, min(wait, 0.05)))
                if readable:
                    self._drain(sock, own_ip)

    def _drain(self, sock: socket.socket, own_ip: str) -> None:
        while True:
            try:
                frame = sock.recv(128)
            except (BlockingIOError, InterruptedError):
                return
            if is_reply(frame, self.target_ip, own_ip):
                self._replies.append(time.monotonic())


def start(device: str | None, target_ip: str, *, privileged: bool, deadline: float) -> Series | None:
    """A running series, or None where it cannot be observed (not root, not Linux, no device)."""
    if not privileged or sys.platform != "linux" or not device:
        return None
    try:
        socket.inet_aton(target_ip)
    except OSError:
        return None   # IPv6 neighbours answer NDP, not ARP
    return Series(device, target_ip, deadline).start()
