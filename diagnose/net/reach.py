"""Is a host there? ICMP echo (own socket, else the system ping) and TCP connects.
Observations only, never raises."""
from __future__ import annotations

import errno
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from . import probe_series

# An echo round trip inside a home or to a nearby operator host takes well under this.
ECHO_WAIT_S = 1.0
ECHO_INTERVAL_S = 0.2   # the smallest interval iputils allows an ordinary user

_PING_RECEIVED = re.compile(r"(\d+) (?:packets )?received")
_PING_SENT = re.compile(r"(\d+) packets transmitted")
_PING_AVG_RTT = re.compile(r"= [\d.]+/([\d.]+)/")
_PING_RTT = re.compile(r"time=(\d+(?:\.\d+)?)\s*ms")
_PING_FRAG = re.compile(r"frag(?:mentation)? needed.*?mtu\s*=\s*(\d+)", re.I)
_PING_LOCAL = re.compile(r"message too long,\s*mtu\s*=\s*(\d+)", re.I)
_PING_UNREACH = re.compile(r"unreachable", re.I)
_PING_DENIED = re.compile(r"operation not permitted|permission|socket:", re.I)


@dataclass(frozen=True)
class PingOutput:
    """What the system ping (iputils, busybox) printed; None where it did not say."""
    sent: int | None
    received: int | None          # None: no summary line, ping did not really run
    avg_rtt_ms: float | None      # from the summary line
    first_rtt_ms: float | None    # from the first reply line
    frag_needed_mtu: int | None   # a router's "Frag needed and DF set (mtu = N)"
    local_mtu: int | None         # "local error: message too long, mtu=N": the kernel refused
    unreachable: bool
    denied: bool                  # not allowed to send ICMP here (stderr)


def read_ping(stdout: str | None, stderr: str | None) -> PingOutput:
    """The one reader of ping's output, for every check that falls back to the system ping."""
    out = f"{stdout or ''}\n{stderr or ''}"

    def number(pattern, kind):
        found = pattern.search(out)
        return kind(found.group(1)) if found else None
    return PingOutput(sent=number(_PING_SENT, int), received=number(_PING_RECEIVED, int),
                      avg_rtt_ms=number(_PING_AVG_RTT, float),
                      first_rtt_ms=number(_PING_RTT, float),
                      frag_needed_mtu=number(_PING_FRAG, int), local_mtu=number(_PING_LOCAL, int),
                      unreachable=bool(_PING_UNREACH.search(out)),
                      denied=bool(_PING_DENIED.search(stderr or "")))


def icmp_echo(address: str, *, count: int = 2, timeout: float = ECHO_WAIT_S, privileged: bool,
              run: Callable[[list[str], float], Any]) -> dict[str, Any]:
    """Echoes through diagnose's own ICMP socket (net/probe_series.echo: unprivileged, then raw as
    administrator), else the system ping (setuid where sockets are not allowed). On Windows,
    IcmpSendEcho2 (no administrator rights, no localized ping output to parse)."""
    if sys.platform == "win32":
        from .icmp_windows import echo
        return echo(address, count=count, timeout=timeout)
    series = probe_series.echo(address, count=count, wait=timeout, privileged=privileged)
    if series is not None:
        errors = series["errors"]
        return {"answered": series["received"] > 0, "method": series["method"],
                "sent": series["sent"], "received": series["received"],
                "rtt_ms": series["avg_rtt_ms"],
                "error": ", ".join(f"{name} x{n}" for name, n in errors.items()) if errors else None}
    outcome = _system_ping(address, count, timeout, run)
    if outcome is not None:
        return outcome
    return {"answered": None, "method": None, "sent": 0, "received": 0, "rtt_ms": None,
            "error": "no ICMP method available (no ICMP socket allowed, no usable ping)"}


def _system_ping(address: str, count: int, timeout: float, run) -> dict[str, Any] | None:
    wait = max(1, round(timeout))
    done = run(["ping", "-n", "-q", "-c", str(count), "-i", str(ECHO_INTERVAL_S), "-W", str(wait),
                address], count * ECHO_INTERVAL_S + wait + 0.5)
    if done is None:
        return None
    seen = read_ping(done.stdout, done.stderr)
    if seen.received is None:
        if seen.denied:
            return None
        return {"answered": False, "method": "ping", "sent": count, "received": 0, "rtt_ms": None,
                "error": (done.stderr or "").strip()[:200] or None}
    got = seen.received
    return {"answered": got > 0, "method": "ping", "sent": count, "received": got,
            "rtt_ms": seen.avg_rtt_ms if got else None, "error": None}


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
