"""Packet probes against real daemons in a throw-away lab.

Each test builds its own namespaces ("bdp" + random hex), joined by a veth
pair: a PC side where the probe runs (in a child process started with
`ip netns exec`) and an access side with pppoe-server or dnsmasq. A small
sniffer on the access side records what the probe really sent (PADIs only,
DISCOVER only). Everything is torn down in a finalizer, even on failure.

Needs root, iproute2, pppoe-server (Debian `pppoe`) and dnsmasq. Skipped
when they are missing, except with CI=true, where that is a failure.
"""
from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.timeout(30)]

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 5.0  # daemons bind their sockets in tens of ms; 5 s means broken
POLL_INTERVAL = 0.01  # between readiness checks
SLACK = 0.5  # allowed overrun of a probe's own budget (the brief's contract)

AC_IP = "10.77.0.1"
DHCP_FIRST, DHCP_LAST = "10.77.0.100", "10.77.0.150"

# Runs in the PC namespace: one probe call, result + wall time as JSON.
PROBE = r"""
import json, sys, time
mod, args, kwargs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
import importlib
discover = importlib.import_module(mod).discover
# scapy's one-time load is not part of a probe's wait (its clock starts once the socket is open)
import scapy.layers.dhcp, scapy.layers.inet, scapy.layers.l2, scapy.layers.ppp, scapy.arch.linux
t = time.monotonic()
if "_deadline_in" in kwargs:  # the caller's deadline, relative to the call
    kwargs["deadline"] = t + kwargs.pop("_deadline_in")
r = discover(*args, **kwargs)
r["_elapsed"] = time.monotonic() - t
print(json.dumps(r))
"""

# Runs in the access namespace: records incoming PPPoE discovery codes and
# DHCP message types on one interface until its stdin is closed.
SNIFFER = r"""
import json, select, socket, struct, sys
ETH_P_ALL = 0x0003
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((sys.argv[1], ETH_P_ALL))
print("ready", flush=True)
seen = []
def dhcp_type(f):
    ihl = (f[14] & 15) * 4
    udp = 14 + ihl
    if f[23] != 17 or struct.unpack_from("!H", f, udp + 2)[0] != 67:
        return None
    opts = f[udp + 8 + 240:]
    i = 0
    while i + 1 < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        if opts[i] == 53:
            return opts[i + 2]
        i += 2 + opts[i + 1]
    return -1
while True:
    r, _, _ = select.select([s, sys.stdin], [], [], 20)
    if sys.stdin in r or not r:
        break
    f, addr = s.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING or len(f) < 20:
        continue
    et = struct.unpack_from("!H", f, 12)[0]
    if et == 0x8863:
        seen.append(["pppoe", f[15]])
    elif et == 0x0800 and len(f) >= 14 + 20 + 8 + 240:
        t = dhcp_type(f)
        if t is not None:
            seen.append(["dhcp", t])
print(json.dumps(seen), flush=True)
"""

PADI, PADR = 0x09, 0x19
DHCPDISCOVER, DHCPREQUEST = 1, 3


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail("%s (CI=true: lab tests must not be skipped)" % reason)
    pytest.skip(reason)


def _require(*tools: str) -> None:
    if os.geteuid() != 0:
        _unavailable("lab tests need root (network namespaces, raw sockets)")
    for tool in ("ip",) + tools:
        if shutil.which(tool) is None:
            _unavailable("%s not installed" % tool)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Lab:
    """PC namespace <-veth-> access namespace, plus daemons and sniffers."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.prefix = "bdp" + secrets.token_hex(3)  # 9 chars: names stay <= 15
        self.ns_pc = self.prefix + "pc"
        self.ns_ac = self.prefix + "ac"
        self.if_pc = self.prefix + "p0"
        self.if_ac = self.prefix + "a0"
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []

    # -- building and tearing down
    def add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        self.add_ns(self.ns_pc)
        self.add_ns(self.ns_ac)
        _ip("link", "add", self.if_pc, "netns", self.ns_pc, "type", "veth",
            "peer", "name", self.if_ac, "netns", self.ns_ac)
        _ip("-n", self.ns_pc, "link", "set", self.if_pc, "up")
        _ip("-n", self.ns_ac, "link", "set", self.if_ac, "up")

    def close(self) -> None:
        for proc in reversed(self.procs):
            self._stop(proc)
        for ns in reversed(self.namespaces):
            # Anything still running in our namespace was started by us.
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in out.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # own session: group id == pid
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=3)
            except ProcessLookupError:
                pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()

    def stop(self, proc: subprocess.Popen) -> None:
        self._stop(proc)

    # -- processes
    def popen(self, ns: str, argv: list[str], log: str, **kw) -> subprocess.Popen:
        out = open(self.tmp / log, "wb")
        try:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, *argv], start_new_session=True,
                stdout=kw.pop("stdout", out), stderr=subprocess.STDOUT, **kw,
            )
        finally:
            out.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_until(self, proc: subprocess.Popen, ready, what: str, log: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("%s exited with %s: %s" % (what, proc.returncode, self.log(log)))
            if ready():
                return
            time.sleep(POLL_INTERVAL)
        pytest.fail("%s not ready after %.0f s: %s" % (what, READY_TIMEOUT, self.log(log)))

    @staticmethod
    def _proc_net(pid: int, table: str) -> str:
        # /proc/PID/net shows the namespace PID lives in (ip netns exec
        # execs the daemon in place, so PID is the daemon's).
        try:
            return Path("/proc/%d/net/%s" % (pid, table)).read_text()
        except OSError:
            return ""

    @staticmethod
    def _comm(pid: int) -> str:
        try:
            return Path("/proc/%d/comm" % pid).read_text().strip()
        except OSError:
            return ""

    def start_pppoe_server(self, ns: str, iface: str, ac_name: str, service: str) -> subprocess.Popen:
        log = "pppoe-%s.log" % iface
        proc = self.popen(ns, ["pppoe-server", "-F", "-I", iface, "-C", ac_name, "-S", service], log)

        def bound() -> bool:  # a packet socket on the discovery ethertype
            rows = self._proc_net(proc.pid, "packet").splitlines()[1:]
            return self._comm(proc.pid) == "pppoe-server" and any(
                r.split()[3] == "8863" for r in rows if len(r.split()) > 3
            )

        self.wait_until(proc, bound, "pppoe-server", log)
        return proc

    def start_dnsmasq(self) -> tuple[subprocess.Popen, Path]:
        _ip("-n", self.ns_ac, "addr", "add", AC_IP + "/24", "dev", self.if_ac)
        leases = self.tmp / "dnsmasq.leases"
        argv = [
            "dnsmasq", "-k", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
            "--bind-interfaces", "--listen-address=" + AC_IP, "--interface=" + self.if_ac,
            "--dhcp-range=%s,%s,255.255.255.0,1h" % (DHCP_FIRST, DHCP_LAST), "--no-ping",
            "--dhcp-leasefile=%s" % leases, "--pid-file=%s" % (self.tmp / "dnsmasq.pid"),
            "--port=0",
        ]
        proc = self.popen(self.ns_ac, argv, "dnsmasq.log")

        def bound() -> bool:  # UDP port 67 (0x0043) open
            rows = self._proc_net(proc.pid, "udp").splitlines()[1:]
            return self._comm(proc.pid) == "dnsmasq" and any(
                r.split()[1].endswith(":0043") for r in rows if len(r.split()) > 1
            )

        self.wait_until(proc, bound, "dnsmasq", "dnsmasq.log")
        return proc, leases

    def start_sniffer(self, ns: str, iface: str) -> subprocess.Popen:
        proc = self.popen(
            ns, [sys.executable, "-c", SNIFFER, iface], "sniffer-%s.log" % iface,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        line = proc.stdout.readline()  # blocks until bound (or exit)
        if line.strip() != b"ready":
            pytest.fail("sniffer failed: %r %s" % (line, self.log("sniffer-%s.log" % iface)))
        return proc

    @staticmethod
    def sniffed(proc: subprocess.Popen) -> list[list]:
        proc.stdin.close()
        out = proc.stdout.readline()
        proc.wait(timeout=5)
        return json.loads(out)

    def probe(self, module: str, *args, ns: str | None = None, **kwargs) -> dict:
        """Run one discover() in the PC namespace; result + '_elapsed' s."""
        env = dict(os.environ, PYTHONPATH=str(REPO))
        out = subprocess.run(
            ["ip", "netns", "exec", ns or self.ns_pc, sys.executable, "-c", PROBE,
             "diagnose.net." + module, json.dumps(args), json.dumps(kwargs)],
            capture_output=True, text=True, timeout=20, env=env,
        )
        assert out.returncode == 0, out.stderr
        assert out.stderr == "", "the probe must not print: %r" % out.stderr
        return json.loads(out.stdout)

    def mac(self, ns: str, iface: str) -> str:
        out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", iface],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)[0]["address"]


@pytest.fixture
def lab(request, tmp_path):
    _require()
    lab = Lab(tmp_path)
    request.addfinalizer(lab.close)  # registered first: runs even if build fails
    lab.build()
    return lab


# ------------------------------------------------------------ PPPoE

def test_pado_from_one_ac(lab):
    _require("pppoe-server")
    lab.start_pppoe_server(lab.ns_ac, lab.if_ac, "LAB-BRAS", "lab-internet")
    sniffer = lab.start_sniffer(lab.ns_ac, lab.if_ac)
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=1.0, attempts=3, service_name="lab-internet")
    assert r["outcome"] == "pado", r
    assert r["error"] is None and r["interface"] == lab.if_pc
    assert r["attempts"] == 1
    [ac] = r["acs"]
    assert ac["name"] == "LAB-BRAS"
    assert ac["services"] == ["lab-internet"]
    assert ac["mac"] == lab.mac(lab.ns_ac, lab.if_ac)
    assert ac["has_cookie"] is True  # rp-pppoe always sends an AC-Cookie
    assert 0 <= ac["latency_ms"] < 1000
    assert r["_elapsed"] < 1.0
    assert lab.sniffed(sniffer) == [["pppoe", PADI]]  # one PADI, never a PADR


def test_pado_from_two_acs(lab):
    """A second AC behind a macvlan (own MAC) in its own namespace."""
    _require("pppoe-server")
    ns2, if2 = lab.prefix + "ac2", lab.prefix + "m0"
    lab.add_ns(ns2)
    try:
        _ip("-n", lab.ns_ac, "link", "add", if2, "link", lab.if_ac, "type", "macvlan", "mode", "bridge")
    except subprocess.CalledProcessError as exc:
        _unavailable("macvlan not available: %s" % exc.stderr.decode(errors="replace").strip())
    _ip("-n", lab.ns_ac, "link", "set", if2, "netns", ns2)
    _ip("-n", ns2, "link", "set", if2, "up")
    lab.start_pppoe_server(lab.ns_ac, lab.if_ac, "LAB-BRAS", "lab-internet")
    lab.start_pppoe_server(ns2, if2, "LAB-BRAS-2", "lab-internet")
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=1.0, attempts=3)
    assert r["outcome"] == "pado", r
    assert r["attempts"] == 1
    assert sorted(ac["name"] for ac in r["acs"]) == ["LAB-BRAS", "LAB-BRAS-2"]
    assert len({ac["mac"] for ac in r["acs"]}) == 2


@pytest.mark.parametrize(
    "attempts,timeout,budget",
    [(3, 0.5, 1.5), (2, 0.2, 5.0)],  # budget shrinks the backoff / budget larger than needed
)
def test_no_pado(lab, attempts, timeout, budget):
    sniffer = lab.start_sniffer(lab.ns_ac, lab.if_ac)
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=timeout, attempts=attempts, budget=budget)
    assert r["outcome"] == "no_pado", r
    assert r["acs"] == [] and r["error"] is None
    assert r["attempts"] == attempts
    expected = min(budget, sum(timeout * 1.5 ** i for i in range(attempts)))
    assert expected * 0.9 <= r["_elapsed"] <= min(budget, expected) + SLACK, r
    assert lab.sniffed(sniffer) == [["pppoe", PADI]] * attempts


def test_pppoe_wrong_service_gets_no_pado(lab):
    _require("pppoe-server")
    lab.start_pppoe_server(lab.ns_ac, lab.if_ac, "LAB-BRAS", "lab-internet")
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=0.2, attempts=2, budget=0.6)
    assert r["outcome"] == "pado"  # empty Service-Name: any service
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=0.2, attempts=2, budget=0.6,
                  service_name="no-such-service")
    assert r["outcome"] == "no_pado" and r["attempts"] == 2


# ------------------------------------------------------------ DHCP

def test_dhcp_offer_without_taking_a_lease(lab):
    _require("dnsmasq")
    dnsmasq, leases = lab.start_dnsmasq()
    sniffer = lab.start_sniffer(lab.ns_ac, lab.if_ac)
    mac = lab.mac(lab.ns_pc, lab.if_pc)
    r = lab.probe("dhcp_probe", lab.if_pc, mac, timeout=1.5)
    assert r["outcome"] == "offer", r
    assert r["error"] is None and r["interface"] == lab.if_pc
    assert r["server"] == AC_IP
    offered = ipaddress.ip_address(r["offered"])
    assert ipaddress.ip_address(DHCP_FIRST) <= offered <= ipaddress.ip_address(DHCP_LAST)
    assert 0 <= r["latency_ms"] < 1500
    assert r["_elapsed"] < 1.5
    assert lab.sniffed(sniffer) == [["dhcp", DHCPDISCOVER]]  # never a DHCPREQUEST
    lab.stop(dnsmasq)  # dnsmasq writes its lease file on exit too
    assert not leases.exists() or leases.read_text().strip() == ""


def test_dhcp_offer_for_another_mac(lab):
    """A chaddr that is not the interface's own still gets its offer."""
    _require("dnsmasq")
    lab.start_dnsmasq()
    r = lab.probe("dhcp_probe", lab.if_pc, "02:42:ac:11:00:99", timeout=1.5)
    assert r["outcome"] == "offer", r
    assert r["server"] == AC_IP


@pytest.mark.parametrize("timeout", [0.3, 1.5])
def test_dhcp_no_answer(lab, timeout):
    sniffer = lab.start_sniffer(lab.ns_ac, lab.if_ac)
    r = lab.probe("dhcp_probe", lab.if_pc, lab.mac(lab.ns_pc, lab.if_pc), timeout=timeout)
    assert r["outcome"] == "no_answer", r
    assert r["server"] is None and r["offered"] is None and r["latency_ms"] is None
    assert timeout * 0.9 <= r["_elapsed"] <= timeout + SLACK, r
    assert lab.sniffed(sniffer) == [["dhcp", DHCPDISCOVER]]


@pytest.mark.parametrize("module,args,kwargs,nothing", [
    ("dhcp_probe", ["MAC"], {"timeout": 1.5}, "no_answer"),
    ("pppoe_discovery", [], {"timeout": 0.5, "attempts": 3, "budget": 3.0}, "no_pado"),
])
def test_the_callers_deadline_cuts_the_wait(lab, module, args, kwargs, nothing):
    """A probe never waits past the deadline its check passes, whatever its own wait."""
    args = [lab.mac(lab.ns_pc, lab.if_pc) if a == "MAC" else a for a in args]
    r = lab.probe(module, lab.if_pc, *args, **kwargs, _deadline_in=0.4)
    assert r["outcome"] == nothing, r
    assert 0.36 <= r["_elapsed"] <= 0.4 + SLACK, r


@pytest.mark.parametrize("module,args", [("dhcp_probe", ["02:42:ac:11:00:99"]),
                                         ("pppoe_discovery", [])])
def test_a_deadline_already_past_sends_nothing(lab, module, args):
    sniffer = lab.start_sniffer(lab.ns_ac, lab.if_ac)
    r = lab.probe(module, lab.if_pc, *args, timeout=1.0, _deadline_in=-0.1)
    assert r["outcome"] == "error" and r["error"] == "time budget used up before sending", r
    assert r["_elapsed"] < 0.2, r
    assert lab.sniffed(sniffer) == []


# ------------------------------------------------------------ errors

def test_missing_interface_is_an_error(lab):
    missing = lab.prefix + "zz"
    r = lab.probe("pppoe_discovery", missing, timeout=0.3, attempts=2)
    assert r["outcome"] == "error" and r["attempts"] == 0 and r["acs"] == []
    assert missing in r["error"]
    r = lab.probe("dhcp_probe", missing, "02:42:ac:11:00:99", timeout=0.3)
    assert r["outcome"] == "error" and missing in r["error"]
    assert r["_elapsed"] < 0.3


def test_interface_down_is_an_error(lab):
    _ip("-n", lab.ns_pc, "link", "set", lab.if_pc, "down")
    r = lab.probe("pppoe_discovery", lab.if_pc, timeout=0.3, attempts=2)
    assert r["outcome"] == "error" and "down" in r["error"], r
    r = lab.probe("dhcp_probe", lab.if_pc, "02:42:ac:11:00:99", timeout=0.3)
    assert r["outcome"] == "error" and "down" in r["error"], r


def test_without_cap_net_raw_is_an_error(lab):
    _require("setpriv")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for module, args in (("pppoe_discovery", [lab.if_pc]), ("dhcp_probe", [lab.if_pc, "02:42:ac:11:00:99"])):
        out = subprocess.run(
            ["ip", "netns", "exec", lab.ns_pc, "setpriv", "--bounding-set", "-net_raw",
             sys.executable, "-c", PROBE, "diagnose.net." + module, json.dumps(args),
             json.dumps({"timeout": 0.3})],
            capture_output=True, text=True, timeout=20, env=env,
        )
        assert out.returncode == 0 and out.stderr == "", out.stderr
        r = json.loads(out.stdout)
        assert r["outcome"] == "error" and "permission" in r["error"], r
