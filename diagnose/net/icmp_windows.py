"""ICMP echo on Windows through IcmpSendEcho2 (iphlpapi): needs no administrator rights, unlike
raw sockets, and never parses `ping`'s localized output. IPv4 only (Icmp6SendEcho2 is not used
yet). Observations only, never raises."""
from __future__ import annotations

import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

IP_SUCCESS = 0
# ipexport.h: what a failed echo says
IP_STATUS = {11002: "net unreachable", 11003: "host unreachable", 11004: "protocol unreachable",
             11005: "port unreachable", 11009: "packet too big", 11010: "timed out",
             11013: "TTL expired in transit", 11050: "general failure"}
IP_FLAG_DF = 0x2
PAYLOAD = b"broadband-diagnose-echo"
REPLY_SLACK = 8 + 64   # an ICMP error quotes headers; the reply buffer needs room for them


def status_text(status: int) -> str:
    return IP_STATUS.get(status, f"IP status {status}")


def echo(address: str, *, count: int = 2, timeout: float = 1.0, size: int | None = None,
         dont_fragment: bool = False) -> dict[str, Any]:
    """`count` echoes at once; the reach.icmp_echo result shape (method IcmpSendEcho2)."""
    if sys.platform != "win32":
        return {"answered": None, "method": None, "sent": 0, "received": 0, "rtt_ms": None,
                "error": "IcmpSendEcho2 is Windows only"}
    import ctypes

    class IP_OPTION_INFORMATION(ctypes.Structure):
        _fields_ = [("Ttl", ctypes.c_ubyte), ("Tos", ctypes.c_ubyte), ("Flags", ctypes.c_ubyte),
                    ("OptionsSize", ctypes.c_ubyte), ("OptionsData", ctypes.c_void_p)]

    class ICMP_ECHO_REPLY(ctypes.Structure):
        _fields_ = [("Address", ctypes.c_ulong), ("Status", ctypes.c_ulong),
                    ("RoundTripTime", ctypes.c_ulong), ("DataSize", ctypes.c_ushort),
                    ("Reserved", ctypes.c_ushort), ("Data", ctypes.c_void_p),
                    ("Options", IP_OPTION_INFORMATION)]

    try:
        destination = int.from_bytes(socket.inet_aton(address), "little")   # IPAddr: network order
        api = ctypes.WinDLL("iphlpapi.dll", use_last_error=True)
        api.IcmpCreateFile.restype = ctypes.c_void_p
        api.IcmpSendEcho2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p,
                                      ctypes.c_ushort, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_ulong, ctypes.c_ulong]
        api.IcmpCloseHandle.argtypes = [ctypes.c_void_p]
        handle = api.IcmpCreateFile()
    except (OSError, AttributeError) as exc:
        return {"answered": None, "method": None, "sent": 0, "received": 0, "rtt_ms": None,
                "error": f"IcmpSendEcho2 not available: {exc}"}
    if not handle or handle == ctypes.c_void_p(-1).value:
        return {"answered": None, "method": None, "sent": 0, "received": 0, "rtt_ms": None,
                "error": f"IcmpCreateFile failed ({ctypes.get_last_error()})"}
    payload = PAYLOAD if size is None else (PAYLOAD * (size // len(PAYLOAD) + 1))[:size]
    wait_ms = max(1, int(timeout * 1000))

    def one(_) -> tuple[int, float | None]:
        options = IP_OPTION_INFORMATION(Ttl=128, Flags=IP_FLAG_DF if dont_fragment else 0)
        reply = ctypes.create_string_buffer(ctypes.sizeof(ICMP_ECHO_REPLY) + len(payload) + REPLY_SLACK)
        data = ctypes.create_string_buffer(payload, len(payload))
        started = time.monotonic()
        replies = api.IcmpSendEcho2(handle, None, None, None, destination, data, len(payload),
                                    ctypes.byref(options), reply, len(reply), wait_ms)
        if not replies:
            return ctypes.get_last_error() or 11010, None
        answer = ICMP_ECHO_REPLY.from_buffer_copy(reply)
        if answer.Status != IP_SUCCESS:
            return answer.Status, None
        # whole milliseconds; 0 means under one, so the measured time says more
        return IP_SUCCESS, float(answer.RoundTripTime) or (time.monotonic() - started) * 1000

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(one, range(count)))
    finally:
        api.IcmpCloseHandle(handle)
    rtts = [rtt for status, rtt in results if status == IP_SUCCESS and rtt is not None]
    errors = sorted({status_text(status) for status, _ in results if status != IP_SUCCESS})
    return {"answered": bool(rtts), "method": "IcmpSendEcho2", "sent": count,
            "received": len(rtts), "rtt_ms": round(sum(rtts) / len(rtts), 2) if rtts else None,
            "error": None if rtts else ", ".join(errors) or None}
