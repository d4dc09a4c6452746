"""Is a host there? ICMP echo (three ways) and TCP connects. Observations only, never raises."""
from __future__ import annotations

import errno
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

# An echo round trip inside a home or to a nearby operator host takes well under this.
ECHO_WAIT_S = 1.0
ECHO_INTERVAL_S = 0.2   # the smallest interval iputils allows an ordinary user

_PING_RECEIVED = re.compile(r"(\d+) (?:packets )?received")
_PING_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


def icmp_echo(address: str, *, count: int = 2, timeout: float = ECHO_WAIT_S, privileged: bool,
              run: Callable[[list[str], float], Any]) -> dict[str, Any]:
    """Echo via icmplib (unprivileged, then raw as administrator), else the system ping."""
    tried = []
    for raw in ([False, True] if privileged else [False]):
        outcome = _icmplib_echo(address, count, timeout, raw)
        if outcome is not None:
            return outcome
        tried.append("icmplib-raw" if raw else "icmplib")
    outcome = _system_ping(address, count, timeout, run)
    if outcome is not None:
        return outcome
    tried.append("ping")
    return {"answered": None, "method": None, "sent": 0, "received": 0, "rtt_ms": None,
            "error": f"no ICMP method available (tried {', '.join(tried)})"}


def _icmplib_echo(address: str, count: int, timeout: float, raw: bool) -> dict[str, Any] | None:
    """All echoes at once, so a dead host costs one wait, not one per echo."""
    try:
        import icmplib
    except ImportError:
        return None
    method = "icmplib-raw" if raw else "icmplib"

    def echo(_):
        return icmplib.ping(address, count=1, timeout=timeout, privileged=raw)
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            hosts = list(pool.map(echo, range(count)))
    except Exception as exc:  # permission refused: the caller tries the next method
        if type(exc).__name__ in ("SocketPermissionError", "SocketUnavailableError"):
            return None
        return {"answered": False, "method": method, "sent": count, "received": 0,
                "rtt_ms": None, "error": f"{type(exc).__name__}: {exc}"}
    rtts = [host.avg_rtt for host in hosts if host.packets_received]
    return {"answered": bool(rtts), "method": method, "sent": len(hosts), "received": len(rtts),
            "rtt_ms": round(sum(rtts) / len(rtts), 2) if rtts else None, "error": None}


def _system_ping(address: str, count: int, timeout: float, run) -> dict[str, Any] | None:
    wait = max(1, round(timeout))
    done = run(["ping", "-n", "-q", "-c", str(count), "-i", str(ECHO_INTERVAL_S), "-W", str(wait),
                address], count * ECHO_INTERVAL_S + wait + 0.5)
    if done is None:
        return None
    received = _PING_RECEIVED.search(done.stdout or "")
    if received is None:
        if "permission" in (done.stderr or "").lower() or "operation not permitted" in (done.stderr or "").lower():
            return None
        return {"answered": False, "method": "ping", "sent": count, "received": 0, "rtt_ms": None,
                "error": (done.stderr or "").strip()[:200] or None}
    rtt = _PING_RTT.search(done.stdout)
    got = int(received.group(1))
    return {"answered": got > 0, "method": "ping", "sent": count, "received": got,
            "rtt_ms": float(rtt.group(1)) if rtt and got else None, "error": None}


def tcp_connect(address: str, port: int, timeout: float) -> dict[str, Any]:
    """open: accepted; refused: the host answered with a reset (it is there); else why not."""
    started = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=timeout):
            outcome = "open"
    except ConnectionRefusedError:
        outcome = "refused"
    except socket.timeout:
        outcome = "timeout"
    except OSError as exc:
        outcome = {errno.ENETUNREACH: "unreachable", errno.EHOSTUNREACH: "unreachable",
                   errno.ENETDOWN: "unreachable"}.get(exc.errno, "error")
    return {"port": port, "outcome": outcome, "ms": round((time.monotonic() - started) * 1000, 1)}


def host_answers(address: str, ports: tuple[int, ...], *, privileged: bool, run,
                 timeout: float) -> dict[str, Any]:
    """ICMP and TCP at once; the host is there if either says so."""
    with ThreadPoolExecutor(max_workers=1 + len(ports)) as pool:
        echo = pool.submit(icmp_echo, address, timeout=timeout, privileged=privileged, run=run)
        tcp = [pool.submit(tcp_connect, address, port, timeout) for port in ports]
        icmp = echo.result()
        tcp_results = [future.result() for future in tcp]
    tcp_alive = any(t["outcome"] in ("open", "refused") for t in tcp_results)
    # answers_ping stays None when no ICMP method was available: not observed is not "no".
    return {"address": address, "icmp": icmp, "tcp": tcp_results,
            "answers_ping": icmp["answered"], "answers_tcp": tcp_alive,
            "reachable": bool(icmp["answered"]) or tcp_alive}
