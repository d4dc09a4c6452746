"""SSDP: the M-SEARCH for an Internet Gateway Device and the answers worth believing.

Every datagram is size-limited and counted; an answer from outside the local network, or naming
a LOCATION on another host, is ignored (and listed, up to MAX_LISTED)."""
from __future__ import annotations

import errno
import socket
from contextlib import ExitStack
from typing import Any, Callable

from ...clock import SYSTEM, Clock
from .values import clean, same_device_url

SSDP_GROUP = ("239.255.255.250", 1900)
SEARCH_TARGETS = ("urn:schemas-upnp-org:device:InternetGatewayDevice:1",
                  "urn:schemas-upnp-org:device:InternetGatewayDevice:2")
SSDP_MX = 1              # seconds a device may delay its answer; 1 is the least UDA allows
SSDP_TTL = 2             # UDA's default hop limit: the search stays in the home
RESEND_FRACTION = 0.4    # one resend, this far into the wait, covers a lost datagram
CLOSED_GRACE_S = 0.1     # the gateway's SSDP port is closed: this long more for multicast answers
MAX_DATAGRAM = 2048      # an SSDP answer is a few hundred bytes; longer ones are cut here
MAX_DATAGRAMS = 64       # a chatty or hostile LAN cannot keep the search busy
MAX_LISTED = 8           # devices and ignored answers kept in the facts


def search_message(target: str, host: tuple[str, int] = SSDP_GROUP) -> bytes:
    """An M-SEARCH; sent to one device (UDA 1.1 unicast search) it carries no MX: no delay."""
    mx = f"MX: {SSDP_MX}\r\n" if host == SSDP_GROUP else ""
    return ("M-SEARCH * HTTP/1.1\r\n"
            f"HOST: {host[0]}:{host[1]}\r\n"
            'MAN: "ssdp:discover"\r\n'
            f"{mx}"
            f"ST: {target}\r\n\r\n").encode("ascii")


def parse_answer(data: bytes) -> dict[str, str] | None:
    """Headers (lower-case names) of an SSDP `HTTP/1.1 200 OK` answer, else None."""
    lines = data[:MAX_DATAGRAM].decode("latin-1").replace("\r\n", "\n").split("\n")
    status = lines[0].split()
    if len(status) < 2 or not status[0].upper().startswith("HTTP/1.") or status[1] != "200":
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.setdefault(name.strip().lower(), value.strip())
    return headers



def search(local_addr: str, wait: float, accept: Callable[[str], bool], *,
           prefer: str | None = None, target: tuple[str, int] = SSDP_GROUP,
           unicast_port: int = SSDP_GROUP[1], clock: Clock = SYSTEM) -> dict[str, Any]:
    """M-SEARCH for an IGD from local_addr, listening `wait` seconds (less once `prefer` answers).

    The search goes to the multicast group and, when `prefer` (the gateway) is given, to that
    device too: it answers a unicast search at once, and a gateway without SSDP says so with a
    port unreachable, after which only CLOSED_GRACE_S more is spent on multicast answers.
    `gateway_port` records it: answered, closed or None (nothing heard). Answers from addresses
    `accept` refuses, or naming a LOCATION on another host, are ignored. `target` is the
    multicast group; tests pass a loopback address instead. Waits are on `clock`.
    """
    devices: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    result = {"outcome": "none", "devices": devices, "ignored": ignored, "error": None,
              "gateway_port": None}
    deadline = clock.monotonic() + wait
    resend_at: float | None = clock.monotonic() + wait * RESEND_FRACTION
    try:
        with ExitStack() as stack:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local_addr))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, SSDP_TTL)
            sock.bind((local_addr, 0))
            direct = None
            if prefer:
                direct = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                direct.bind((local_addr, 0))
                direct.connect((prefer, unicast_port))

            def gateway_closed() -> None:
                nonlocal direct, deadline
                result["gateway_port"], direct = "closed", None   # the stack closes it
                deadline = min(deadline, clock.monotonic() + CLOSED_GRACE_S)

            if _send_searches(sock, target, direct):
                gateway_closed()
            for _ in range(MAX_DATAGRAMS):
                now = clock.monotonic()
                if now >= deadline or (prefer and any(d["address"] == prefer for d in devices)):
                    break
                if resend_at is not None and now >= resend_at:
                    resend_at = None
                    if not devices and _send_searches(sock, target, direct):
                        gateway_closed()
                        continue
                waiting = [s for s in (sock, direct) if s is not None]
                readable = clock.wait(waiting,
                                      max(0.001, min(deadline, resend_at or deadline) - now))
                for ready in readable:
                    try:
                        data, (address, _port) = ready.recvfrom(MAX_DATAGRAM)
                    except ConnectionRefusedError:   # ICMP port unreachable
                        if ready is direct:
                            gateway_closed()
                        continue
                    if ready is direct:
                        result["gateway_port"] = "answered"
                    _take(data, address, accept, devices, ignored)
    except OSError as exc:
        result.update(outcome="error", error=errno.errorcode.get(exc.errno or 0, type(exc).__name__))
        return result
    if devices:
        result["outcome"] = "found"
    return result


def _send_searches(sock: socket.socket, target: tuple[str, int],
                   direct: socket.socket | None = None) -> bool:
    """Multicast and, with `direct`, unicast searches; True when the unicast port is closed."""
    for search_target in SEARCH_TARGETS:
        sock.sendto(search_message(search_target), target)
        if direct is not None:
            try:
                direct.send(search_message(search_target, direct.getpeername()))
            except ConnectionRefusedError:   # the port unreachable of an earlier search
                return True
    return False


def _take(data: bytes, address: str, accept, devices: list, ignored: list) -> None:
    def ignore(why: str) -> None:
        if len(ignored) < MAX_LISTED and not any(i["address"] == address and i["why"] == why
                                                 for i in ignored):
            ignored.append({"address": address, "why": why})

    if not accept(address):
        return ignore("outside the local network")
    headers = parse_answer(data)
    if headers is None:
        return ignore("not an SSDP answer")
    search_target = headers.get("st", "")
    if search_target not in SEARCH_TARGETS:
        return ignore("not an Internet Gateway Device")
    location = same_device_url(headers.get("location", ""), address)
    if location is None:
        return ignore("location is not on the answering device")
    version = int(search_target[-1])
    for device in devices:
        if device["address"] == address and device["location"] == location:
            device["versions"] = sorted({*device["versions"], version})
            return
    if len(devices) < MAX_LISTED:
        devices.append({"address": address, "location": location, "versions": [version],
                        "server": clean(headers.get("server"))})

