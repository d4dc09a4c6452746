"""A user-space loss and delay relay for the fault lab: this kernel has no netem.

The relay joins two veth ends in one namespace with two AF_PACKET sockets: every frame that
arrives on one end leaves by the other, unless it is dropped (a per-direction probability) or
held back (a per-direction delay, plus optional uniform jitter) by a scheduler heap. Only IP
frames are dropped unless told otherwise: ARP passes (delayed like the rest), so neighbour
resolution never turns a lossy link into a one-second stall that looks like an outage; with
`lossy_arp` every frame is dropped alike, as on a bad radio link where ARP resolves only now and
then. The queue is bounded, the
process ends by itself after its lifetime, when one of its ends disappears (the lab was torn
down) or when the process that started it dies.

Checksum and segmentation offloads must be off on every veth whose frames pass through the relay
(a frame with a partial checksum or a 64 KiB GSO frame cannot be re-sent as it is; TCP breaks):
`offloads_off` does that with SIOCETHTOOL, as there is no ethtool binary.

Inserting it into a lab (`insert(lab, "lan", loss=0.3)`):

    lan:  PC pc0 --- lan0 [relay] rq0 --- rq1 (192.168.77.1) ROUTER          (all in "rt")
    wan:  ROUTER wan0 --- isp0 [relay] rq0 --- rq1 (198.51.100.1) ISP         (all in "isp")

The router's (or ISP's) address moves from the link to rq1, which takes over the link's MAC
address, so the far side's neighbour entries stay right; nftables drops whatever arrives on the
relay's two ends before that namespace's IP stack sees it (packet sockets see it first). The
relay runs in a lab namespace, so the lab's teardown ends it like any other daemon.

Command line (run inside the namespace):

    relay.py run --ports lan0 rq0 [--loss-ab P] [--loss-ba P] [--delay-ab MS] [--delay-ba MS]
                 [--jitter-ms MS] [--lifetime S] [--seed N]
    relay.py offloads-off IF [IF ...]
"""
from __future__ import annotations

import argparse
import array
import ctypes
import errno
import fcntl
import heapq
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4
PACKET_IGNORE_OUTGOING = 23
SOL_PACKET = 263
SIOCETHTOOL = 0x8946
# Legacy ethtool_value setters: rx/tx checksum, scatter-gather, TSO, GSO, GRO.
ETHTOOL_SET = {"rx-checksum": 0x15, "tx-checksum": 0x17, "sg": 0x19, "tso": 0x1F, "gso": 0x24,
               "gro": 0x2C}
PR_SET_PDEATHSIG = 1

MAX_QUEUE = 4096          # frames held back at once; beyond this the relay drops (and counts)
MAX_FRAME = 65536
DEFAULT_LIFETIME_S = 120.0
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 3.0
RELAY_SCRIPT = Path(__file__).resolve()

# Where a relay goes in the lab: namespace role, the link end it takes over, the address that moves.
PLACES = {
    "lan": {"role": "rt", "port": "lan0", "address": "192.168.77.1/24",
            "far_role": "pc", "far_if": "pc0"},
    "wan": {"role": "isp", "port": "isp0", "address": "198.51.100.1/24",
            "far_role": "rt", "far_if": "wan0"},
}
INNER, INNER_PEER = "rq0", "rq1"   # the new pair: rq0 is the relay's, rq1 carries the address


# ----------------------------------------------------------------------------- offloads
def offloads_off(name: str) -> list[str]:
    """Switch off checksum and segmentation offloads on `name`; the settings that failed."""
    failed = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for label, command in ETHTOOL_SET.items():
            value = array.array("B", struct.pack("II", command, 0))
            request = struct.pack("16sP", name.encode(), value.buffer_info()[0])
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
            except OSError as exc:
                if exc.errno != errno.EOPNOTSUPP:
                    failed.append(f"{label}: {exc.strerror}")
    return failed


# ----------------------------------------------------------------------------- the relay
@dataclass
class Direction:
    loss: float = 0.0
    delay_s: float = 0.0
    forwarded: int = 0
    dropped: int = 0
    overflow: int = 0


@dataclass
class RelayCore:
    ports: tuple[str, str]
    ab: Direction = field(default_factory=Direction)
    ba: Direction = field(default_factory=Direction)
    jitter_s: float = 0.0
    lifetime_s: float = DEFAULT_LIFETIME_S
    seed: int | None = None
    lossy_arp: bool = False

    def run(self, ready=None) -> int:
        rng = random.Random(self.seed)
        socks = [self._open(port) for port in self.ports]
        plan = {socks[0].fileno(): (socks[1], self.ab), socks[1].fileno(): (socks[0], self.ba)}
        queue: list[tuple[float, int, socket.socket, bytes]] = []
        serial = 0
        end = time.monotonic() + self.lifetime_s
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        if ready is not None:
            ready()
        status = 0
        try:
            while not stopping:
                now = time.monotonic()
                if now >= end:
                    break
                while queue and queue[0][0] <= now:
                    _, _, out, frame = heapq.heappop(queue)
                    self._send(out, frame)
                timeout = min(end, queue[0][0] if queue else now + 0.5) - now
                try:
                    readable, _, _ = select.select(socks, [], [], max(0.0, timeout))
                except InterruptedError:
                    continue
                for sock in readable:
                    out, direction = plan[sock.fileno()]
                    for frame in self._drain(sock):
                        if (direction.loss and (self.lossy_arp or _is_ip(frame))
                                and rng.random() < direction.loss):
                            direction.dropped += 1
                            continue
                        delay = direction.delay_s + (rng.uniform(-self.jitter_s, self.jitter_s)
                                                     if self.jitter_s else 0.0)
                        if delay <= 0 and not queue:
                            self._send(out, frame)
                        elif len(queue) >= MAX_QUEUE:
                            direction.overflow += 1
                            continue
                        else:
                            serial += 1
                            heapq.heappush(queue, (time.monotonic() + max(0.0, delay), serial,
                                                   out, frame))
                        direction.forwarded += 1
        except _PortGone as gone:
            sys.stderr.write(f"relay: {gone}; stopping\n")
            status = 0
        finally:
            for sock in socks:
                sock.close()
            sys.stderr.write(f"relay: {self.ports[0]}->{self.ports[1]} {self.ab}; "
                             f"{self.ports[1]}->{self.ports[0]} {self.ba}\n")
        return status

    @staticmethod
    def _open(port: str) -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass   # older kernels: outgoing frames are filtered by packet type below
        sock.bind((port, ETH_P_ALL))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        return sock

    @staticmethod
    def _drain(sock: socket.socket):
        while True:
            try:
                frame, address = sock.recvfrom(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise _PortGone(f"{exc.strerror} on receive") from None
            if address[2] != PACKET_OUTGOING:
                yield frame

    @staticmethod
    def _send(sock: socket.socket, frame: bytes) -> None:
        try:
            sock.send(frame)
        except (BlockingIOError, InterruptedError):
            pass     # the far end is congested: a lost frame, as on a real link
        except OSError as exc:
            if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                raise _PortGone(f"{exc.strerror} on send") from None


class _PortGone(Exception):
    pass


def _is_ip(frame: bytes) -> bool:
    if len(frame) < 14:
        return False
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x8100 and len(frame) >= 18:
        ethertype = struct.unpack("!H", frame[16:18])[0]
    return ethertype in (0x0800, 0x86DD)


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--ports", nargs=2, required=True, metavar=("A", "B"))
    for name in ("loss-ab", "loss-ba"):
        run.add_argument(f"--{name}", type=float, default=0.0, help="probability 0..1")
    for name in ("delay-ab", "delay-ba"):
        run.add_argument(f"--{name}", type=float, default=0.0, help="milliseconds")
    run.add_argument("--jitter-ms", type=float, default=0.0)
    run.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME_S)
    run.add_argument("--seed", type=int)
    run.add_argument("--lossy-arp", action="store_true", help="drop ARP frames like IP ones")
    off = sub.add_parser("offloads-off")
    off.add_argument("interfaces", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "offloads-off":
        failed = {name: offloads_off(name) for name in args.interfaces}
        failed = {name: errors for name, errors in failed.items() if errors}
        if failed:
            sys.stderr.write(f"offloads: {failed}\n")
        return 1 if failed else 0
    _die_with_parent()
    core = RelayCore(ports=tuple(args.ports),
                     ab=Direction(args.loss_ab, args.delay_ab / 1000.0),
                     ba=Direction(args.loss_ba, args.delay_ba / 1000.0),
                     jitter_s=args.jitter_ms / 1000.0, lifetime_s=args.lifetime, seed=args.seed,
                     lossy_arp=args.lossy_arp)

    def ready():
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        os.close(1)
    return core.run(ready)


# ----------------------------------------------------------------------------- the lab side
class Relay:
    """A running relay in a lab; `stop()` ends it (the lab's teardown would too)."""

    def __init__(self, lab, place: str, proc: subprocess.Popen, log: Path):
        self.lab = lab
        self.place = place
        self.proc = proc
        self.log = log

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> str:
        """End the relay; its log (per-direction counts)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def insert(lab, place: str, *, loss: float = 0.0, delay_ms: float = 0.0, jitter_ms: float = 0.0,
           loss_in: float | None = None, loss_out: float | None = None,
           lifetime: float = DEFAULT_LIFETIME_S, seed: int | None = None,
           lossy_arp: bool = False) -> Relay:
    """Put a relay on the LAN link ("lan": PC-router) or the WAN link ("wan": router-ISP).

    `loss` and `delay_ms` apply in each direction (so a round trip sees 1-(1-loss)**2 loss and
    twice the delay); `loss_in` / `loss_out` override the direction towards / away from the
    namespace the relay lives in; `lossy_arp` drops ARP frames with the same odds.
    """
    spot = PLACES[place]
    role, port, address = spot["role"], spot["port"], spot["address"]
    mac = _mac(lab, role, port)
    lab.ip_batch(role, [
        f"link add {INNER} type veth peer name {INNER_PEER}",
        f"link set {port} address {_local_mac()}",
        f"link set {INNER_PEER} address {mac}",
        f"link set {INNER} up",
        f"link set {INNER_PEER} up",
    ])
    for name in (port, INNER):   # the relay's ends carry no IPv6 of their own
        lab.sysctl(role, f"net.ipv6.conf.{name}.disable_ipv6", "1")
    lab.nft(role, f"""
        table netdev lab_relay {{
            chain outer {{ type filter hook ingress device "{port}" priority 0; policy drop; }}
            chain inner {{ type filter hook ingress device "{INNER}" priority 0; policy drop; }}
        }}""")
    _offloads(lab, role, [port, INNER, INNER_PEER])
    _offloads(lab, spot["far_role"], [spot["far_if"]])
    lab.ip_batch(role, [f"addr add {address} dev {INNER_PEER}", f"addr del {address} dev {port}"])
    loss_ab = loss if loss_in is None else loss_in      # arriving on the link end
    loss_ba = loss if loss_out is None else loss_out
    argv = [sys.executable, str(RELAY_SCRIPT), "run", "--ports", port, INNER,
            "--loss-ab", str(loss_ab), "--loss-ba", str(loss_ba),
            "--delay-ab", str(delay_ms), "--delay-ba", str(delay_ms),
            "--jitter-ms", str(jitter_ms), "--lifetime", str(lifetime)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if lossy_arp:
        argv.append("--lossy-arp")
    log = Path(lab.tmpdir) / f"relay-{place}.log"
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(["ip", "netns", "exec", lab.ns[role], *argv],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_file,
                                cwd="/", start_new_session=True)
    relay = Relay(lab, place, proc, log)
    try:
        _wait_ready(proc, log)
    except BaseException:
        relay.stop()
        raise
    return relay


def _mac(lab, role: str, name: str) -> str:
    out = lab.ip(role, "-o", "link", "show", name).stdout
    fields = out.split()
    return fields[fields.index("link/ether") + 1]


def _local_mac() -> str:
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFC) | 0x02     # locally administered, unicast
    return ":".join(f"{b:02x}" for b in raw)


def _offloads(lab, role: str, names: list[str]) -> None:
    done = lab.exec_in(role, [sys.executable, str(RELAY_SCRIPT), "offloads-off", *names])
    if done.returncode != 0:
        raise RuntimeError(f"offloads in {role}: {done.stderr.strip()}")


def _wait_ready(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        readable, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            break
        chunk = os.read(proc.stdout.fileno(), 64)
        if not chunk:
            break
        line += chunk
    proc.stdout.close()
    if line.strip() != b"ready":
        text = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"relay did not start (exit {proc.poll()}): {text[-2000:]}")


if __name__ == "__main__":
    sys.exit(main())
