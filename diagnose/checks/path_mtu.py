"""path_mtu: do full-size packets cross the line? DF echoes of decreasing size to a target beyond.

An ICMP echo is sent with Don't Fragment for each total IPv4 size in SIZES, all at once, largest
first (a rate limiter that admits only the first few then spares the large ones, so it cannot fake
a black hole), and resent while unanswered. Each size ends as:

    reply          the target answered: packets this large cross the whole path
    frag_needed    a router answered "fragmentation needed" (with its MTU): path MTU discovery works
    too_big_local  this computer's own adapter or route cannot send it (its MTU is smaller)
    unreachable    a router said the target is unreachable
    no_reply       nothing came back at all
    error          the probe could not be sent

A black hole is a size larger than the largest answered one that got no reply and no error: such
packets vanish silently, so TCP connections that need full-size packets hang (pages half load).
A silent size above an MTU that a router did report is not counted: that router's "fragmentation
needed" for it was only rate-limited (path MTU discovery works). Each answered size records on
which try it answered; `loss_seen` says some needed a resend, i.e. the line loses packets anyway,
so a silent size may be plain loss (the rules then conclude nothing about the MTU).

How: as administrator a raw ICMP socket; otherwise an unprivileged ICMP datagram socket (when
net.ipv4.ping_group_range allows it; errors arrive on its error queue); otherwise the system
`ping -M do`; else skipped. Sockets use IP_PMTUDISC_PROBE: DF set, the kernel's cached path MTU
ignored, so every run measures the path afresh.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net.icmp import (DATAGRAM, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_FRAG_NEEDED, RAW,
                        echo_request, open_echo_socket, parse_echo_reply)
from ..net.reach import read_ping

# Total IPv4 packet sizes, largest first: Ethernet 1500; PPPoE 1492; PPPoE over a tunnel or VLAN
# 1480..1460; common tunnel MTUs; the IPv6 minimum 1280; and 576, which every IPv4 host accepts.
SIZES = (1500, 1492, 1480, 1472, 1460, 1400, 1360, 1280, 576)
HEADERS = 28                 # IPv4 header (20) + ICMP echo header (8)
WINDOW_S = 1.1               # all probes together; a live target beyond the home answers in ms
RESEND_S = 0.3               # an unanswered size is sent again this often (three tries in all)
TRIES = 3
PING_WAIT_S = 1.3            # the system ping: two echoes 0.2 s apart, 1 s for the last reply

IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, IP_RECVERR = 10, 3, 11   # <linux/in.h>
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
SO_EE_ORIGIN_ICMP = 2



class _Probe:
    """One socket, every size in flight at once; a size is settled by its first verdict."""

    def __init__(self, target: str, sizes: tuple[int, ...], raw: bool, sock: socket.socket):
        self.target, self.sizes, self.raw, self.sock = target, sizes, raw, sock
        self.sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        self.ident = int.from_bytes(os.urandom(2), "big")   # a datagram socket gets the kernel's
        self.token = os.urandom(8)
        self.sent: dict[int, float] = {}                      # seq -> when sent
        self.results: dict[int, dict[str, Any]] = {}          # size -> settled result

    def close(self) -> None:
        self.sock.close()

    def _seq(self, index: int, attempt: int) -> int:
        return index * TRIES + attempt

    def _size_of(self, seq: int) -> int | None:
        index = seq // TRIES
        return self.sizes[index] if 0 <= index < len(self.sizes) else None

    def _settle(self, size: int | None, outcome: str, **extra) -> None:
        if size is not None and size not in self.results:
            self.results[size] = {"size": size, "outcome": outcome, **extra}

    def send_round(self, attempt: int) -> None:
        for index, size in enumerate(self.sizes):
            if size in self.results:
                continue
            seq = self._seq(index, attempt)
            payload = self.token + b"\xa5" * (size - HEADERS - len(self.token))
            outcome = self._send(echo_request(socket.AF_INET, self.ident, seq, payload))
            if outcome is None:
                self.sent[seq] = time.monotonic()
            elif outcome.errno == errno.EMSGSIZE:
                self._settle(size, "too_big_local")
            elif outcome.errno not in (errno.EAGAIN, errno.ENOBUFS):
                self._settle(size, "error", error=outcome.strerror)

    def _send(self, packet: bytes) -> OSError | None:
        """None when sent. An ICMP error that arrived meanwhile is also left pending on the socket,
        and the next send fails with it (EMSGSIZE after "fragmentation needed") without sending:
        it is cleared first (it stays on the error queue), and a send that failed with an error
        that came in between is tried once more, so EMSGSIZE is this computer's own limit."""
        failure = None
        for _ in range(2):
            try:
                self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                self.sock.sendto(packet, (self.target, 0))
                return None
            except OSError as exc:
                failure = exc
        return failure

    def receive(self, until: float) -> None:
        while len(self.results) < len(self.sizes):
            left = until - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            if readable:
                self._drain_errors()
                self._drain_replies()

    def _drain_replies(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self.raw:
                if len(data) < 20:
                    continue
                data = data[(data[0] & 0x0F) * 4:]
            self._icmp(data, peer[0])

    def _icmp(self, icmp: bytes, source: str) -> None:
        if len(icmp) < 8:
            return
        echo = parse_echo_reply(socket.AF_INET, icmp, raw=False)   # the IP header is off already
        kind, code = icmp[0], icmp[1]
        if echo is not None and source == self.target and icmp[8:16] == self.token:
            ident, seq = echo
            if self.raw and ident != self.ident:
                return
            size = self._size_of(seq)
            sent = self.sent.get(seq)
            self._settle(size, "reply",
                         rtt_ms=round((time.monotonic() - sent) * 1000, 2) if sent else None,
                         tries=seq % TRIES + 1)
        elif self.raw and kind == ICMP_DEST_UNREACH:
            # The error quotes our packet: its IP header, then at least 8 bytes of our echo.
            inner = icmp[8:]
            if len(inner) < 20:
                return
            quoted = inner[(inner[0] & 0x0F) * 4:]
            if (inner[9] != socket.IPPROTO_ICMP or socket.inet_ntoa(inner[16:20]) != self.target
                    or len(quoted) < 8):
                return
            q_kind, _, _, q_ident, q_seq = struct.unpack("!BBHHH", quoted[:8])
            if q_kind == ICMP_ECHO and q_ident == self.ident:
                self._unreachable(q_seq, code, struct.unpack("!H", icmp[6:8])[0], source)

    def _drain_errors(self) -> None:
        """Datagram sockets learn of ICMP errors only on the error queue (IP_RECVERR)."""
        if sys.platform == "win32":
            return
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(2048, 512, MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            for level, kind, value in ancillary:
                if level != socket.IPPROTO_IP or kind != IP_RECVERR or len(value) < 16:
                    continue
                _, origin, ee_type, ee_code, _, info, _ = struct.unpack("=IBBBBII", value[:16])
                offender = socket.inet_ntoa(value[20:24]) if len(value) >= 24 else None
                if origin != SO_EE_ORIGIN_ICMP or ee_type != ICMP_DEST_UNREACH or len(data) < 8:
                    continue
                # data is our echo as quoted by the router. A raw socket also hears of other
                # programs' echoes; a datagram socket only of its own (the kernel put its id in).
                if self.raw and struct.unpack("!H", data[4:6])[0] != self.ident:
                    continue
                self._unreachable(struct.unpack("!H", data[6:8])[0], ee_code, info, offender)

    def _unreachable(self, seq: int, code: int, mtu: int, router: str | None) -> None:
        size = self._size_of(seq)
        if code == ICMP_FRAG_NEEDED:
            self._settle(size, "frag_needed", mtu=mtu or None, router=router)
        else:
            self._settle(size, "unreachable", code=code, router=router)

    def run(self, window: float, deadline: float) -> list[dict]:
        started = time.monotonic()
        end = min(deadline, started + window)
        for attempt in range(TRIES):
            self.send_round(attempt)
            self.receive(min(end, started + RESEND_S * (attempt + 1)) if attempt < TRIES - 1 else end)
            if len(self.results) == len(self.sizes) or time.monotonic() >= end:
                break
        return [self.results.get(size) or {"size": size, "outcome": "no_reply"} for size in self.sizes]


def socket_probe(target: str, sizes: tuple[int, ...], *, raw: bool, window: float,
                 deadline: float) -> list[dict] | None:
    """The probes' results, or None when this kind of ICMP socket is not allowed here."""
    opened = open_echo_socket(socket.AF_INET, privileged=raw, methods=(RAW if raw else DATAGRAM,))
    if opened is None:   # EPERM/EACCES: not allowed here; anything else: not available either
        return None
    try:
        probe = _Probe(target, sizes, raw, opened[1])
    except OSError:
        opened[1].close()
        return None
    try:
        return probe.run(window, deadline)
    finally:
        probe.close()


def parse_ping(size: int, done) -> dict | None:
    """One `ping -M do -s N` run; None when ping may not send ICMP here."""
    seen = read_ping(done.stdout, done.stderr)
    if seen.received:
        # echoes lost on the way: as a resend in the socket probes (both are 1 or 2)
        tries = 2 if seen.sent and seen.sent > seen.received else 1
        return {"size": size, "outcome": "reply", "rtt_ms": seen.first_rtt_ms, "tries": tries}
    if seen.frag_needed_mtu is not None:
        return {"size": size, "outcome": "frag_needed", "mtu": seen.frag_needed_mtu,
                "router": None}
    if seen.local_mtu is not None:
        return {"size": size, "outcome": "too_big_local", "mtu": seen.local_mtu}
    if seen.received is None and seen.denied:
        return None
    if seen.unreachable:
        return {"size": size, "outcome": "unreachable", "router": None}
    if seen.received is None:
        return {"size": size, "outcome": "error", "error": (done.stderr or "").strip()[:200] or None}
    return {"size": size, "outcome": "no_reply"}


_WINDOWS_OUTCOMES = {"packet too big": "frag_needed", "timed out": "no_reply",
                     "net unreachable": "unreachable", "host unreachable": "unreachable"}


def windows_probe(ctx, target: str, sizes: tuple[int, ...]) -> list[dict]:
    """IcmpSendEcho2 with Don't Fragment, every size at once (no administrator rights needed).
    Windows does not say a router's MTU nor tell its own adapter's limit from a router's."""
    from ..net.icmp_windows import echo
    wait = ctx.budget(WINDOW_S)

    def one(size: int) -> dict:
        for tries in range(1, TRIES + 1):
            answer = echo(target, count=1, timeout=wait / TRIES, size=size - HEADERS,
                          dont_fragment=True)
            if answer["answered"]:
                return {"size": size, "outcome": "reply", "rtt_ms": answer["rtt_ms"],
                        "tries": tries}
            if answer["error"] != "timed out":
                break
        outcome = _WINDOWS_OUTCOMES.get(answer["error"] or "", "error")
        return {"size": size, "outcome": outcome,
                **({"mtu": None, "router": None} if outcome == "frag_needed" else
                   {"router": None} if outcome == "unreachable" else
                   {"error": answer["error"]} if outcome == "error" else {})}
    with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
        return list(pool.map(one, sizes))


def ping_probe(ctx, target: str, sizes: tuple[int, ...]) -> list[dict] | None:
    """The system ping, one process per size at once; None when it is missing or not allowed."""
    if sys.platform == "win32":   # its output is localized; IcmpSendEcho2 does this instead
        return None
    wait = ctx.budget(PING_WAIT_S)

    def one(size: int):
        done = ctx.run(["ping", "-n", "-M", "do", "-s", str(size - HEADERS), "-c", "2",
                        "-i", "0.2", "-W", "1", target], wait)
        return None if done is None else parse_ping(size, done)
    with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
        results = list(pool.map(one, sizes))
    if all(result is None for result in results):
        return None
    return [result or {"size": size, "outcome": "error", "error": "ping did not run"}
            for size, result in zip(sizes, results)]


def summarise(probes: list[dict]) -> dict[str, Any]:
    answered = [p["size"] for p in probes if p.get("outcome") == "reply"]
    largest = max(answered, default=None)
    frag = [p["mtu"] for p in probes if p.get("outcome") == "frag_needed"
            and isinstance(p.get("mtu"), int) and p["mtu"] > 0]
    reported = min(frag, default=None)
    above = [p for p in probes if largest is not None and p["size"] > largest]
    # above a reported MTU, a silent size is a rate-limited "fragmentation needed", not a hole
    silent = sorted(p["size"] for p in above if p.get("outcome") == "no_reply"
                    and (reported is None or p["size"] <= reported))
    return {
        "largest_answered": largest,
        "smallest_answered": min(answered, default=None),
        "silent_sizes": silent,
        # null when nothing answered: then nothing says whether large packets are special
        "silent_above": None if largest is None else bool(silent),
        "frag_needed_mtu": reported,
        # null when nothing answered; true when an answer needed a resend (the line loses packets)
        "loss_seen": (None if largest is None else
                      any((p.get("tries") or 1) > 1 for p in probes if p.get("outcome") == "reply")),
    }


def run(ctx) -> CheckResult:
    targets = ctx.profile["probes"]["ping_targets"]
    facts: dict[str, Any] = {"target": None, "method": None, "sizes": list(SIZES), "probes": [],
                             "largest_answered": None, "smallest_answered": None,
                             "silent_sizes": [], "silent_above": None, "frag_needed_mtu": None,
                             "loss_seen": None}
    if not ctx.facts("route").get("has_default"):
        return CheckResult(Status.SKIPPED, facts, N_("no default gateway"))
    target = next((t for t in targets if ipaddress.ip_address(t).version == 4), None)
    if target is None:
        return CheckResult(Status.SKIPPED, facts, N_("no ping target in the profile"))
    facts["target"] = target
    probes, method = None, None
    kinds: list[str] = (["raw"] if ctx.privileged else []) + ["icmp"]
    if sys.platform == "win32":
        probes, method, kinds = windows_probe(ctx, target, SIZES), "IcmpSendEcho2", []
    for kind in kinds:
        probes = socket_probe(target, SIZES, raw=kind == "raw", window=ctx.budget(WINDOW_S),
                              deadline=ctx.deadline - 0.1)
        if probes is not None:
            method = "icmp-raw" if kind == "raw" else "icmp"
            break
    if probes is None:
        probes = ping_probe(ctx, target, SIZES)
        method = "ping" if probes is not None else None
    if probes is None:
        return CheckResult(Status.SKIPPED, facts, N_("needs administrator rights"))
    facts.update(method=method, probes=probes, **summarise(probes))
    if all(p["outcome"] == "error" for p in probes):
        # e.g. a ping without -M (BusyBox), or a socket that sends nothing: nothing was observed
        return CheckResult(Status.SKIPPED, facts, N_("the DF probes could not be sent"))
    # Observed: silence, black holes and loss are facts; rule H63 (rules/path-mtu.yaml) judges.
    # When larger sizes went silent above an answered one, the reason says what was measured.
    if facts["silent_above"]:
        args = {"sizes": ", ".join(map(str, facts["silent_sizes"])),
                "largest": facts["largest_answered"]}
        if facts["loss_seen"]:
            return CheckResult(Status.OK, facts, N_(
                "no reply and no error at {sizes} bytes, {largest} bytes answered; some answers "
                "needed a resend (the line loses packets)"), reason_args=args)
        return CheckResult(Status.OK, facts, N_(
            "no reply and no error at {sizes} bytes, {largest} bytes answered"), reason_args=args)
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="path_mtu", summary="Path MTU: do full-size packets cross the line?", run=run,
                  needs=("route",), timeout=1.5, privilege="optional",
                  provides=("target", "method", "sizes", "probes", "largest_answered",
                            "smallest_answered", "silent_sizes", "silent_above",
                            "frag_needed_mtu", "loss_seen"),
                  name=N_("large packets"), position=120, digest_slot=11)
