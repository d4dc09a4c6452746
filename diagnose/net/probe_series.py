"""Series of probes to several hosts at once: loss, round-trip times and jitter.

Each host gets up to `Plan.count` probes, `Plan.interval` apart, every host at the same time, all
from one thread and one event loop (no thread per probe, so the schedule is kept). A probe is an
ICMP echo (an unprivileged datagram socket, else a raw socket as administrator) or, where ICMP
cannot be used, a TCP handshake: an accepted or refused connection is an answer (a refusal is the
host's own reset), anything else within `Plan.wait` is a lost probe. TCP probes take turns over
the host's ports and count only on ports that answered at least once, so one filtered port is not
mistaken for loss.

A series stops early, so a healthy network costs a fraction of the full series:
- clean: the first `clean_after` probes were all answered (later ones still in flight are left
  out, not counted as lost);
- dead: the first `dead_after` probes all went unanswered (a dead host is not a lossy one);
- complete: all `count` probes were answered or expired;
- deadline: the caller's deadline came first; probes still in flight are left out.

For a host given `backup_ports` (the gateway: some routers drop ping by design), a TCP series is
started as well when no echo has come back `Plan.fallback_after` seconds into the ICMP series;
the result is then the TCP series, marked `icmp_answered: false`.

`echo()` is the same loop for a few echoes to one host, all at once (net/reach's ICMP check of
the gateway and the internet targets).

Never raises: socket errors are observations (an error counts as a lost probe).
"""
from __future__ import annotations

import errno
import ipaddress
import os
import selectors
import socket
import struct
from dataclasses import dataclass
from typing import Any

from ..clock import SYSTEM, Clock
from .icmp import DATAGRAM, RAW, echo_request, open_echo_socket, parse_echo_reply

ICMP_METHOD, RAW_METHOD, TCP_METHOD = DATAGRAM, RAW, "tcp"
_PAYLOAD = b"broadband-diagnose-line-quality"  # 31 bytes, the same in every echo
_REFUSED = (errno.ECONNREFUSED,)
_IN_PROGRESS = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK)
_MAX_IDLE_S = 0.05   # the loop wakes at least this often, so a deadline is never overslept


@dataclass(frozen=True)
class Plan:
    count: int = 40               # most probes per host
    interval: float = 0.008       # seconds between two probes to one host
    wait: float = 0.7             # a probe unanswered this long is lost
    clean_after: int = 20         # stop once the first this many were all answered
    dead_after: int = 10          # stop once the first this many all went unanswered
    fallback_after: float = 0.25  # backup TCP series for a host whose echoes have not answered


@dataclass(frozen=True)
class Host:
    address: str
    tcp_ports: tuple[int, ...]              # ports for TCP probes when ICMP cannot be used
    backup_ports: tuple[int, ...] = ()      # ports for a backup TCP series (see module doc)


@dataclass
class _Probe:
    index: int
    sent_at: float
    port: int | None = None
    rtt_ms: float | None = None
    lost: bool = False
    error: str | None = None
    sock: socket.socket | None = None

    @property
    def resolved(self) -> bool:
        return self.rtt_ms is not None or self.lost


class _Series:
    """The probes to one host by one method, and when to stop."""

    def __init__(self, host: Host, method: str, ports: tuple[int, ...], plan: Plan, start: float):
        self.host = host
        self.method = method
        self.ports = ports
        self.plan = plan
        self.start = start
        self.family = socket.AF_INET6 if ipaddress.ip_address(host.address).version == 6 \
            else socket.AF_INET
        self.probes: list[_Probe] = []
        self.stopped: str | None = None      # clean, dead, complete, deadline
        self.sending = True
        self.errors: dict[str, int] = {}

    # -- schedule
    def next_send(self) -> float | None:
        if not self.sending or len(self.probes) >= self.plan.count:
            return None
        return self.start + len(self.probes) * self.plan.interval

    def next_expiry(self) -> float | None:
        pending = [p.sent_at for p in self.probes if not p.resolved]
        return min(pending) + self.plan.wait if pending else None

    def answered(self) -> int:
        return sum(1 for p in self.probes if p.rtt_ms is not None)

    def expire(self, now: float) -> None:
        for probe in self.probes:
            if not probe.resolved and now >= probe.sent_at + self.plan.wait:   # as next_expiry
                probe.lost = True

    def release(self) -> None:
        """Close what this series holds open."""

    def update(self) -> None:
        """Decide whether to stop sending, and whether the series is over."""
        if self.stopped:
            return
        head = self.probes[:self.plan.clean_after]
        if len(head) == self.plan.clean_after and all(p.rtt_ms is not None for p in head):
            self.stopped, self.sending = "clean", False
            return
        head = self.probes[:self.plan.dead_after]
        if len(head) == self.plan.dead_after and all(p.lost for p in head):
            self.stopped, self.sending = "dead", False
            return
        if len(self.probes) >= self.plan.count and all(p.resolved for p in self.probes):
            self.stopped, self.sending = "complete", False

    def note_error(self, probe: _Probe, name: str) -> None:
        probe.error = name
        probe.lost = True
        self.errors[name] = self.errors.get(name, 0) + 1

    # -- result
    def result(self) -> dict[str, Any]:
        counted = [p for p in self.probes if p.resolved]
        ports = None
        if self.method == TCP_METHOD:
            ports = {}
            for probe in counted:
                entry = ports.setdefault(str(probe.port), {"sent": 0, "received": 0})
                entry["sent"] += 1
                entry["received"] += probe.rtt_ms is not None
            live = {port for port, entry in ports.items() if entry["received"]}
            if live:   # a port that never answered is filtered, not lossy
                counted = [p for p in counted if str(p.port) in live]
        rtts = [p.rtt_ms for p in sorted(counted, key=lambda p: p.index) if p.rtt_ms is not None]
        sent, received = len(counted), len(rtts)
        return {
            "address": self.host.address,
            "method": self.method,
            "sent": sent,
            "received": received,
            "loss_pct": round(100.0 * (sent - received) / sent, 1) if sent else None,
            "min_rtt_ms": round(min(rtts), 2) if rtts else None,
            "avg_rtt_ms": round(sum(rtts) / len(rtts), 2) if rtts else None,
            "max_rtt_ms": round(max(rtts), 2) if rtts else None,
            "jitter_ms": round(sum(abs(b - a) for a, b in zip(rtts, rtts[1:])) / (len(rtts) - 1), 2)
            if len(rtts) > 1 else None,
            "stopped": self.stopped or "deadline",
            "ports": ports,
            "errors": dict(self.errors) or None,
        }


class _IcmpSeries(_Series):
    """Echoes from one socket of its own: the kernel (datagram) or our id (raw) keeps hosts apart."""

    def __init__(self, host, method, plan, start, sock: socket.socket,
                 selector: selectors.BaseSelector):
        super().__init__(host, method, (), plan, start)
        self.sock = sock
        self.selector = selector
        self.raw = method == RAW_METHOD
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.base = int.from_bytes(os.urandom(2), "big")
        self.by_sequence: dict[int, _Probe] = {}
        selector.register(sock, selectors.EVENT_READ, (self, None))

    def send(self, now: float) -> None:
        probe = _Probe(index=len(self.probes), sent_at=now)
        self.probes.append(probe)
        sequence = (self.base + probe.index) & 0xFFFF
        self.by_sequence[sequence] = probe
        try:
            self.sock.sendto(echo_request(self.family, self.ident, sequence, _PAYLOAD),
                             (self.host.address, 0))
        except OSError as exc:
            self.note_error(probe, errno.errorcode.get(exc.errno, "error"))

    def readable(self, now: float) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:   # an ICMP error queued on a datagram socket: not an answer
                name = errno.errorcode.get(exc.errno, "error")
                self.errors[name] = self.errors.get(name, 0) + 1
                continue
            if self.raw and source[0] != self.host.address:
                continue
            parsed = parse_echo_reply(self.family, data, self.raw)
            if parsed is None or (self.raw and parsed[0] != self.ident):
                continue
            probe = self.by_sequence.get(parsed[1])
            if probe is not None and not probe.resolved:
                probe.rtt_ms = (now - probe.sent_at) * 1000.0

    def release(self) -> None:
        if self.sock.fileno() >= 0:
            try:
                self.selector.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()


class _TcpSeries(_Series):
    """One non-blocking connect per probe; the ports take turns."""

    def __init__(self, host, ports, plan, start, selector: selectors.BaseSelector, clock: Clock):
        super().__init__(host, TCP_METHOD, ports, plan, start)
        self.selector, self.clock = selector, clock

    def send(self, now: float) -> None:
        index = len(self.probes)
        probe = _Probe(index=index, sent_at=now, port=self.ports[index % len(self.ports)])
        self.probes.append(probe)
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            self.note_error(probe, errno.errorcode.get(exc.errno, "error"))
            return
        sock.setblocking(False)
        # Close with a reset: no half-open or TIME_WAIT connections left on the router.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        probe.sock = sock
        code = sock.connect_ex((self.host.address, probe.port))
        if code in _IN_PROGRESS:
            self.selector.register(sock, selectors.EVENT_WRITE, (self, probe))
        else:
            self.settle(probe, code, self.clock.monotonic())

    def settle(self, probe: _Probe, code: int, now: float) -> None:
        if code == 0 or code in _REFUSED:
            probe.rtt_ms = (now - probe.sent_at) * 1000.0
        else:     # unreachable, timed out: no answer from the host itself
            self.note_error(probe, errno.errorcode.get(code, "error"))
        self.close(probe)

    def expire(self, now: float) -> None:
        super().expire(now)
        for probe in self.probes:
            if probe.lost:
                self.close(probe)

    def close(self, probe: _Probe) -> None:
        if probe.sock is None:
            return
        try:
            self.selector.unregister(probe.sock)
        except (KeyError, ValueError):
            pass
        probe.sock.close()
        probe.sock = None

    def release(self) -> None:
        for probe in self.probes:
            self.close(probe)


def echo(address: str, *, count: int, wait: float, privileged: bool,
         clock: Clock | None = None) -> dict[str, Any] | None:
    """`count` ICMP echoes to one host, all at once, each lost after `wait`: the series' result
    (method icmp or icmp-raw), or None when no ICMP socket may be opened here."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    opened = open_echo_socket(family, privileged)
    if opened is None:
        return None
    clock = clock or SYSTEM
    plan = Plan(count=count, interval=0.0, wait=wait, clean_after=count, dead_after=count)
    selector = selectors.DefaultSelector()
    start = clock.monotonic()
    series = _IcmpSeries(Host(address, ()), opened[0], plan, start, opened[1], selector)
    try:
        _loop([series], {}, plan, selector, start + wait + _MAX_IDLE_S, clock)
        return series.result()
    finally:
        series.release()
        selector.close()


def measure(hosts: list[Host], plan: Plan, *, privileged: bool, deadline: float,
            icmp: bool = True, clock: Clock | None = None) -> list[dict[str, Any]]:
    """One result per host, in order (see module doc). Returns by `deadline` (on the clock:
    time.monotonic() unless one is given)."""
    clock = clock or SYSTEM
    selector = selectors.DefaultSelector()
    start = clock.monotonic()
    primary: list[_Series] = []
    backups: dict[int, _Series] = {}
    try:
        for host in hosts:
            family = socket.AF_INET6 if ipaddress.ip_address(host.address).version == 6 \
                else socket.AF_INET
            opened = open_echo_socket(family, privileged) if icmp else None
            if opened is not None:
                primary.append(_IcmpSeries(host, opened[0], plan, start, opened[1], selector))
            else:
                primary.append(_TcpSeries(host, host.tcp_ports, plan, start, selector, clock))
        _loop(primary, backups, plan, selector, deadline, clock)
        results = []
        for index, one in enumerate(primary):
            backup = backups.get(index)
            if backup is not None and not one.answered():
                results.append({**backup.result(), "icmp_answered": False})
            else:
                results.append(one.result())
        return results
    finally:
        for one in [*primary, *backups.values()]:
            one.release()
        selector.close()


def _loop(primary: list[_Series], backups: dict[int, _Series], plan: Plan,
          selector: selectors.BaseSelector, deadline: float, clock: Clock) -> None:
    while True:
        now = clock.monotonic()
        for index, one in enumerate(primary):
            if (isinstance(one, _IcmpSeries) and one.host.backup_ports and index not in backups
                    and not one.stopped and not one.answered()
                    and now - one.start >= plan.fallback_after):
                backups[index] = _TcpSeries(one.host, one.host.backup_ports, plan, now, selector,
                                            clock)
        series = [*primary, *backups.values()]
        for one in series:
            if one.stopped:
                continue
            one.expire(now)
            while (due := one.next_send()) is not None and due <= now:
                one.send(now)
                one.update()
            one.update()
        _settle_backups(primary, backups)
        for one in series:
            if one.stopped:     # frozen: what is still in flight stays uncounted
                one.release()
        active = [one for one in series if not one.stopped]
        if not active or now >= deadline:
            for one in active:
                one.stopped, one.sending = "deadline", False
            return
        wake = [t for one in active for t in (one.next_send(), one.next_expiry()) if t is not None]
        timeout = min([*wake, deadline, now + _MAX_IDLE_S]) - now
        for key, _ in clock.select(selector, max(0.0, timeout)):
            one, probe = key.data
            if one.stopped:
                continue
            arrived = clock.monotonic()
            if probe is None:
                one.readable(arrived)
            else:
                code = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                one.settle(probe, code, arrived)
            one.update()


def _settle_backups(primary: list[_Series], backups: dict[int, _Series]) -> None:
    """Echoes answered: the backup is not needed. The backup finished while no echo came back:
    the host drops ping, and its echoes need no more waiting."""
    for index, backup in backups.items():
        echo = primary[index]
        if echo.answered() and not backup.stopped:
            backup.stopped, backup.sending = "unused", False
        elif backup.stopped and not echo.answered() and not echo.stopped:
            echo.stopped, echo.sending = "replaced", False
