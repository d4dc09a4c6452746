"""Fault lab: a subscriber's home network built in Linux network namespaces.

    PC (pc0 192.168.77.10) --- (lan0 192.168.77.1) ROUTER (wan0 198.51.100.2)
        --- (isp0 198.51.100.1) ISP: resolvers, web server, portal, ping target

Each Lab has its own short prefix (namespaces "<prefix>-pc", "-rt", "-isp", "-ac"),
so parallel or leftover labs never collide. Interfaces are created directly
inside their namespaces, so their names (pc0, lan0, ...) never touch the host.
Fault methods make real changes in the namespaces (links, nftables, daemons).

Usage:
    with Lab() as lab:
        lab.wan_down()
        result = lab.run_diagnose(["--json"])
"""
import json
import os
import secrets
import shlex
import shutil
import signal
import site
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# --- addresses (the lab profile and the tests name these) -------------------
LAN_PREFIX = 24
PC_ADDR = "192.168.77.10"
ROUTER_LAN_ADDR = "192.168.77.1"
DHCP_FIRST = "192.168.77.100"
DHCP_LAST = "192.168.77.150"
ROUTER_WAN_ADDR = "198.51.100.2"
ISP_GW_ADDR = "198.51.100.1"
WAN_PREFIX = 24
OPERATOR_DNS = "198.51.100.53"
PUBLIC_DNS = "203.0.113.53"
WEB_ADDR = "203.0.113.80"
PORTAL_ADDR = "203.0.113.81"
PING_TARGET = "203.0.113.1"
ISP_HOST_ADDRS = (OPERATOR_DNS, PUBLIC_DNS, WEB_ADDR, PORTAL_ADDR, PING_TARGET)
APIPA_ADDR = "169.254.23.45"
APIPA_PREFIX = 16
AC_LOCAL_ADDR = "10.67.0.1"
AC_REMOTE_ADDR = "10.67.0.2"

# --- names -------------------------------------------------------------------
PC_IF = "pc0"
ROUTER_LAN_IF = "lan0"
ROUTER_WAN_IF = "wan0"
ISP_IF = "isp0"  # ISP-side peer of the router's wan0
AC_IF = "ac0"  # access concentrator's peer of pc0 (PPPoE dialer case)
# Fixed ifindexes. Each namespace numbers its links from 1, and pc0's peer gets
# pc0's own number on purpose: in real containers the numbers collide like this,
# and diagnose must still see pc0 as the namespace's uplink.
IFINDEX = {PC_IF: 2, ROUTER_LAN_IF: 2, ROUTER_WAN_IF: 3, ISP_IF: 2, AC_IF: 2}

LAB_ZONE = "lab.test"
CONNECT_NAME = "connect.lab.test"
WWW_NAME = "www.lab.test"
PORTAL_NAME = "portal.lab.test"
HOST_RECORDS = ((CONNECT_NAME, WEB_ADDR), (WWW_NAME, WEB_ADDR), (PORTAL_NAME, PORTAL_ADDR))
CONNECTIVITY_URL = f"http://{CONNECT_NAME}/generate_204"
PORTAL_NOTICE_URL = f"http://{PORTAL_NAME}/notice?reason=arrears"
HTTP_PORT = 80
DNS_PORT = 53
DHCP_SERVER_PORT = 67
ETH_P_PPP_DISC = 0x8863

PPPOE_USER = "lab-user-CANARY-USER"
PPPOE_PASSWORD = "CANARY-PPPOE-PASSWORD-9f3b"
PPPOE_PEER = "dsl-provider"
DEFAULT_AC_NAME = "LAB-BRAS"
DEFAULT_SERVICE = "lab-internet"

# --- timing and environment ---------------------------------------------------
READY_TIMEOUT = 10.0  # seconds for a daemon to start listening
STOP_TIMEOUT = 3.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.005
COMMAND_TIMEOUT = 20.0
PROBE_TIMEOUT = 2.0  # seconds a probe waits for an answer that may never come
PING_WAIT = 1  # seconds `ping -W` waits for a reply

NOBODY_UID = NOBODY_GID = 65534
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPO_ROOT = Path(__file__).resolve().parents[2]
HTTPD_SCRIPT = Path(__file__).resolve().with_name("httpd.py")
PROBES_SCRIPT = Path(__file__).resolve().with_name("probes.py")
PPP_AC_SCRIPT = Path(__file__).resolve().with_name("ppp_ac.py")
PPP_LOG_NAME = "pppd.log"  # the dialer's `logfile`, in the PC's /etc/ppp
NETNS_RUN_DIR = Path("/run/netns")
NETNS_ETC_DIR = Path("/etc/netns")
HOST_PPP_DIR = Path("/etc/ppp")

PROFILE_TEXT = f"""\
name: fault-lab
isp: {{name: Lab Telecom, hotline: "10000"}}
probes:
  dns_names: [{CONNECT_NAME}, {WWW_NAME}]
  public_resolvers: [{PUBLIC_DNS}]
  connectivity_urls: [{CONNECTIVITY_URL}]
  ping_targets: [{PING_TARGET}]
"""

HOSTS_TEXT = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

ROLES = ("pc", "rt", "isp", "ac")


class LabError(RuntimeError):
    """The lab could not be built or changed."""


def _proc_hex_addr(addr):
    """IPv4 address as /proc/net/{tcp,udp} prints it (host byte order, hex)."""
    return "%08X" % struct.unpack("=I", socket.inet_aton(addr))[0]


def _sockets_listening(pid, proto, addr, port):
    """True when the namespace of `pid` has a socket on addr:port (addr None = any)."""
    try:
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
    except OSError:
        return False
    want_port = "%04X" % port
    want_addr = _proc_hex_addr(addr) if addr else None
    for line in lines:
        fields = line.split()
        local_addr, local_port = fields[1].split(":")
        if local_port != want_port or (want_addr and local_addr != want_addr):
            continue
        if proto == "tcp" and fields[3] != "0A":  # 0A = LISTEN
            continue
        return True
    return False


def _packet_socket_open(pid, ethertype):
    """True when the namespace of `pid` has an AF_PACKET socket for `ethertype`."""
    try:
        lines = Path(f"/proc/{pid}/net/packet").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[3].lower() == "%04x" % ethertype for line in lines)


def locked_ancestors(paths):
    """Map each top-most directory that "others" cannot traverse to the paths below it.

    Example: {"/root": {"/root/.pyenv/versions/3.11.7"}} when /root is 0700.
    """
    locked = {}
    for path in paths:
        for ancestor in reversed(Path(path).parents):  # "/" first
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                locked.setdefault(str(ancestor), set()).add(str(path))
                break
    return locked


def _python_paths():
    """Directories the interpreter needs: its prefix, binary and site-packages."""
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in site.getsitepackages() if os.path.isdir(p))
    return paths


def _outermost(paths):
    """Drop paths that lie inside another path of the set."""
    paths = sorted({os.path.realpath(p) for p in paths})
    kept = []
    for path in paths:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _run(argv, *, input=None, env=None, cwd=None, timeout=COMMAND_TIMEOUT, check=False):
    """subprocess.run in its own session; a timeout kills the whole group."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
    result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check and result.returncode != 0:
        raise LabError(f"command failed ({result.returncode}): {shlex.join(argv)}\n"
                       f"{result.stderr.strip()}")
    return result


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class Lab:
    """A fresh home network in namespaces. start() builds it, stop() removes everything."""

    def __init__(self, prefix=None):
        self.prefix = prefix or "bdl" + secrets.token_hex(2)
        self.ns = {role: f"{self.prefix}-{role}" for role in ROLES}
        self.tmpdir = None
        self.profile_path = None
        self.pppoe_user = PPPOE_USER
        self.pppoe_password = PPPOE_PASSWORD
        self.build_seconds = None
        self.teardown_seconds = None
        self._daemons = {}  # name -> (Popen, log path)
        self._unpriv_prelude = None

    def __repr__(self):
        return f"<Lab {self.prefix}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ build
    def start(self):
        started = time.monotonic()
        try:
            self._make_tmpdir()
            self._make_namespaces("pc", "rt", "isp")
            self._wire_links()
            self._configure_pc()
            self._configure_router()
            self._configure_isp()
            self._write_pc_etc()
            self._write_profile()
            self._start_daemons()
        except BaseException:
            self.stop()
            raise
        self.build_seconds = time.monotonic() - started
        return self

    def _make_tmpdir(self):
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.tmpdir.chmod(0o755)  # uid 65534 reads the profile from here
        home = self.tmpdir / "home"
        home.mkdir()
        os.chown(home, NOBODY_UID, NOBODY_GID)

    def _make_namespaces(self, *roles):
        for role in roles:
            _run(["ip", "netns", "add", self.ns[role]], check=True)
            self.ip(role, "link", "set", "lo", "up")

    def _wire_links(self):
        self._veth("pc", PC_IF, "rt", ROUTER_LAN_IF)
        self._veth("rt", ROUTER_WAN_IF, "isp", ISP_IF)

    def _veth(self, role_a, if_a, role_b, if_b):
        _run(["ip", "link", "add", if_a, "index", str(IFINDEX[if_a]), "netns", self.ns[role_a],
              "type", "veth", "peer", "name", if_b, "index", str(IFINDEX[if_b]),
              "netns", self.ns[role_b]], check=True)

    def _configure_pc(self):
        self.ip_batch("pc", [
            f"link set {PC_IF} up",
            f"addr add {PC_ADDR}/{LAN_PREFIX} dev {PC_IF}",
            f"route add default via {ROUTER_LAN_ADDR}",
        ])

    def _configure_router(self):
        self.ip_batch("rt", [
            f"link set {ROUTER_LAN_IF} up",
            f"link set {ROUTER_WAN_IF} up",
            f"addr add {ROUTER_LAN_ADDR}/{LAN_PREFIX} dev {ROUTER_LAN_IF}",
            f"addr add {ROUTER_WAN_ADDR}/{WAN_PREFIX} dev {ROUTER_WAN_IF}",
            f"route add default via {ISP_GW_ADDR}",
        ])
        self.sysctl("rt", "net.ipv4.ip_forward", "1")
        self.nft("rt", f"""
            table ip lab_nat {{
                chain postrouting {{
                    type nat hook postrouting priority srcnat;
                    oifname "{ROUTER_WAN_IF}" masquerade
                }}
            }}""")

    def _configure_isp(self):
        lines = [f"link set {ISP_IF} up", f"addr add {ISP_GW_ADDR}/{WAN_PREFIX} dev {ISP_IF}"]
        # No dummy interfaces in this kernel: host addresses live on lo.
        lines += [f"addr add {addr}/32 dev lo" for addr in ISP_HOST_ADDRS]
        self.ip_batch("isp", lines)

    def _write_pc_etc(self):
        etc = self.netns_etc("pc")
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(HOSTS_TEXT)
        self.set_pc_dns(ROUTER_LAN_ADDR)
        if HOST_PPP_DIR.is_dir():
            # Hide the host's /etc/ppp (it has peers/dsl-provider of its own).
            (etc / "ppp" / "peers").mkdir(parents=True, exist_ok=True)

    def _write_profile(self):
        self.profile_path = self.tmpdir / "profile.yaml"
        self.profile_path.write_text(PROFILE_TEXT)
        self.profile_path.chmod(0o644)

    # ---------------------------------------------------------------- daemons
    def _start_daemons(self):
        self._spawn("isp", "isp-dns-operator", self._resolver_argv("operator", OPERATOR_DNS))
        self._spawn("isp", "isp-dns-public", self._resolver_argv("public", PUBLIC_DNS))
        self._spawn("isp", "isp-httpd-web", self._httpd_argv(WEB_ADDR, "connectivity"))
        self._spawn("isp", "isp-httpd-portal", self._httpd_argv(PORTAL_ADDR, "portal"))
        self._spawn("rt", "rt-dnsmasq", self._router_dnsmasq_argv(dhcp=True))
        self._wait_tcp("isp-dns-operator", OPERATOR_DNS, DNS_PORT)
        self._wait_tcp("isp-dns-public", PUBLIC_DNS, DNS_PORT)
        self._wait_tcp("isp-httpd-web", WEB_ADDR, HTTP_PORT)
        self._wait_tcp("isp-httpd-portal", PORTAL_ADDR, HTTP_PORT)
        self._wait_router_dnsmasq(dhcp=True)

    def _dnsmasq_base(self, name, listen):
        return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts",
                "--no-resolv", "--bind-interfaces", f"--listen-address={listen}",
                f"--pid-file={self.tmpdir / (name + '.pid')}", "--user=root",
                "--log-facility=-", "--log-queries"]

    def _resolver_argv(self, name, listen):
        argv = self._dnsmasq_base(f"dns-{name}", listen)
        argv.append(f"--local=/{LAB_ZONE}/")  # authoritative: NXDOMAIN for other names
        argv += [f"--host-record={host},{addr}" for host, addr in HOST_RECORDS]
        return argv

    def _router_dnsmasq_argv(self, dhcp):
        argv = self._dnsmasq_base("rt-dnsmasq", ROUTER_LAN_ADDR)
        argv += [f"--server={OPERATOR_DNS}", "--cache-size=0"]
        if dhcp:
            argv += [f"--dhcp-range={DHCP_FIRST},{DHCP_LAST},255.255.255.0,1h",
                     f"--dhcp-option=option:router,{ROUTER_LAN_ADDR}",
                     f"--dhcp-option=option:dns-server,{ROUTER_LAN_ADDR}",
                     f"--dhcp-leasefile={self.tmpdir / 'dnsmasq.leases'}",
                     "--no-ping"]  # without it every first offer waits ~3 s
        return argv

    def _httpd_argv(self, addr, mode):
        return [sys.executable, str(HTTPD_SCRIPT), "--bind", addr,
                "--port", str(HTTP_PORT), "--mode", mode]

    def _spawn(self, role, name, argv):
        """Start a foreground daemon in a namespace; output goes to <tmpdir>/<name>.log."""
        log_path = self.tmpdir / f"{name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns[role], *argv],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=self._clean_env("/root"), cwd="/", start_new_session=True)
        self._daemons[name] = (proc, log_path)
        return proc

    def _wait_until(self, name, ready, what):
        proc, log_path = self._daemons[name]
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready(proc.pid):
            if proc.poll() is not None:
                raise LabError(f"{name} exited ({proc.returncode}) before {what}:\n"
                               f"{log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise LabError(f"{name}: no {what} after {READY_TIMEOUT}s")
            time.sleep(POLL_INTERVAL)

    def _wait_tcp(self, name, addr, port):
        self._wait_until(name, lambda pid: _sockets_listening(pid, "tcp", addr, port),
                         f"TCP listener on {addr}:{port}")

    def _wait_router_dnsmasq(self, dhcp):
        self._wait_tcp("rt-dnsmasq", ROUTER_LAN_ADDR, DNS_PORT)
        if dhcp:
            self._wait_until("rt-dnsmasq",
                             lambda pid: _sockets_listening(pid, "udp", None, DHCP_SERVER_PORT),
                             f"DHCP socket on port {DHCP_SERVER_PORT}")

    def _terminate(self, name):
        proc, _ = self._daemons.pop(name)
        if proc.poll() is None:
            _kill_group(proc, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                proc.wait()

    def daemon_alive(self, name):
        """True while the lab daemon `name` (e.g. "rt-dnsmasq") is running."""
        entry = self._daemons.get(name)
        return entry is not None and entry[0].poll() is None

    def daemon_pid(self, name):
        return self._daemons[name][0].pid

    def daemon_log(self, name):
        """What the daemon wrote to stdout/stderr so far (for failure messages)."""
        return self._daemons[name][1].read_text(errors="replace")

    def daemon_names(self):
        return sorted(self._daemons)

    # --------------------------------------------------------------- teardown
    def stop(self):
        """Remove daemons, namespaces, /etc/netns dirs and temp files. Idempotent."""
        started = time.monotonic()
        for name in reversed(list(self._daemons)):
            self._terminate(name)
        for role in ROLES:
            self._delete_namespace(self.ns[role])
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        try:
            NETNS_ETC_DIR.rmdir()  # only if no other lab uses it
        except OSError:
            pass
        self.teardown_seconds = time.monotonic() - started

    def _delete_namespace(self, ns):
        if (NETNS_RUN_DIR / ns).exists():
            self._kill_leftovers(ns)
            _run(["ip", "netns", "del", ns])
        shutil.rmtree(NETNS_ETC_DIR / ns, ignore_errors=True)

    @staticmethod
    def _kill_leftovers(ns):
        """Deleting a namespace kills nothing: end what is still running in ours."""
        pids = _run(["ip", "netns", "pids", ns]).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    # ----------------------------------------------------------------- helpers
    def netns_etc(self, role):
        """/etc/netns/<ns>: files here replace /etc/<file> under `ip netns exec`."""
        return NETNS_ETC_DIR / self.ns[role]

    def ip(self, role, *args):
        return _run(["ip", "-n", self.ns[role], *args], check=True)

    def ip_batch(self, role, lines):
        return _run(["ip", "-n", self.ns[role], "-batch", "-"],
                    input="\n".join(lines) + "\n", check=True)

    def nft(self, role, ruleset):
        return self.exec_in(role, ["nft", "-f", "-"], input=ruleset, check=True)

    def sysctl(self, role, key, value):
        return self.exec_in(role, ["sysctl", "-q", "-w", f"{key}={value}"], check=True)

    def exec_in(self, role, argv, *, input=None, env=None, timeout=COMMAND_TIMEOUT,
                check=False, unprivileged=False):
        """Run argv in the namespace of `role` ("pc", "rt", "isp", "ac"); text output."""
        return _run(self._command(role, argv, unprivileged), input=input,
                    env=self._clean_env(env=env, unprivileged=unprivileged),
                    cwd="/", timeout=timeout, check=check)

    def run_python(self, code, *, args=(), unprivileged=False, env=None, timeout=60):
        """Run `python -c code` (this interpreter) in the PC namespace."""
        return self.exec_in("pc", [sys.executable, "-c", code, *args],
                            unprivileged=unprivileged, env=env, timeout=timeout)

    def run_diagnose(self, args, *, unprivileged=False, env=None, timeout=60):
        """Run `python -m diagnose ARGS` from this checkout in the PC namespace."""
        return self.exec_in("pc", [sys.executable, "-m", "diagnose", *args],
                            unprivileged=unprivileged, env=env, timeout=timeout)

    def probe(self, kind, *args, role="pc", timeout=PROBE_TIMEOUT, unprivileged=False):
        """Run a probes.py probe (dns, http, tcp, icmp, dhcp, padi) in `role`; parsed JSON."""
        argv = [sys.executable, str(PROBES_SCRIPT), "--timeout", str(timeout), kind,
                *map(str, args)]
        result = self.exec_in(role, argv, timeout=timeout + COMMAND_TIMEOUT, check=True,
                              unprivileged=unprivileged)
        return json.loads(result.stdout)

    def ping(self, addr, *, role="pc"):
        """One echo request with the ping binary (as root); True when a reply came back."""
        argv = ["ping", "-n", "-c", "1", "-W", str(PING_WAIT), addr]
        return self.exec_in(role, argv).returncode == 0

    def _clean_env(self, home=None, env=None, unprivileged=False):
        if home is None:  # never the real home: diagnose keeps its history and reports there
            home = self.tmpdir / ("home" if unprivileged else "root-home")
            if not unprivileged:
                home.mkdir(mode=0o700, exist_ok=True)
            home = str(home)
        clean = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "HOME": home,
                 "PYTHONPATH": str(REPO_ROOT),
                 "PYTHONDONTWRITEBYTECODE": "1"}  # keep the checkout free of root-owned .pyc
        for key, value in (env or {}).items():
            if value is None:
                clean.pop(key, None)
            else:
                clean[key] = value
        return clean

    # ------------------------------------------------- unprivileged execution
    def _command(self, role, argv, unprivileged):
        netns_exec = ["ip", "netns", "exec", self.ns[role]]
        if not unprivileged:
            return [*netns_exec, *argv]
        drop = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
        script = self._unprivileged_prelude() + "exec " + shlex.join(
            [*netns_exec, *drop, *argv]) + "\n"
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]

    def _unprivileged_prelude(self):
        """Shell lines that make the interpreter reachable for uid 65534.

        Inside a private mount namespace, every top-most 0700 ancestor of a
        needed path (e.g. /root above /root/.pyenv/...) is covered with a 0755
        tmpfs and only the needed subtrees are bind-mounted back. The host is
        not changed; the mounts vanish with the process.
        """
        if self._unpriv_prelude is None:
            needed = _outermost(_python_paths() | {str(REPO_ROOT), str(self.tmpdir)})
            lines = ["set -e", "unset PWD"]  # sh would export PWD to the program
            for index, (top, paths) in enumerate(sorted(locked_ancestors(needed).items())):
                stage = self.tmpdir / "stage" / str(index)
                stage.mkdir(parents=True, exist_ok=True)
                lines.append(f"mount --bind {shlex.quote(top)} {shlex.quote(str(stage))}")
                lines.append(f"mount -t tmpfs -o mode=0755 lab-unpriv {shlex.quote(top)}")
                for path in sorted(paths):
                    inside = str(stage / os.path.relpath(path, top))
                    lines.append(f"mkdir -p {shlex.quote(path)}")
                    lines.append(f"mount --bind {shlex.quote(inside)} {shlex.quote(path)}")
            self._unpriv_prelude = "\n".join(lines) + "\n"
        return self._unpriv_prelude

    # ------------------------------------------------------------------ faults
    def delete_pc_adapter(self):
        """No network adapter at all: pc0 is removed (its peer goes with it)."""
        if self._pc_link_exists():
            self.ip("pc", "link", "del", PC_IF)

    def _pc_link_exists(self):
        return _run(["ip", "-n", self.ns["pc"], "link", "show", PC_IF]).returncode == 0

    def disable_pc_adapter(self):
        """The subscriber disabled the network adapter."""
        self.ip("pc", "link", "set", PC_IF, "down")

    def unplug_cable(self):
        """Cable pulled: the router's port goes down, so pc0 loses carrier.

        veth has no `carrier off`; setting the PC's own end down would be a
        disabled adapter instead (and would drop its default route).
        """
        self.ip("rt", "link", "set", ROUTER_LAN_IF, "down")

    def set_apipa(self):
        """DHCP failed and the OS picked a link-local address (Windows style)."""
        self.ip_batch("pc", [
            f"addr del {PC_ADDR}/{LAN_PREFIX} dev {PC_IF}",
            f"addr add {APIPA_ADDR}/{APIPA_PREFIX} dev {PC_IF}",
        ])
        self._flush_pc_default_routes()

    def stop_router_dhcp(self):
        """Router's DHCP server off: restart dnsmasq as a DNS proxy only."""
        self._terminate("rt-dnsmasq")
        self._spawn("rt", "rt-dnsmasq", self._router_dnsmasq_argv(dhcp=False))
        self._wait_router_dnsmasq(dhcp=False)

    def router_hang(self):
        """Hung router: everything arriving from the LAN is dropped."""
        self.nft("rt", f"""
            table inet lab_hang {{
                chain input {{
                    type filter hook input priority filter - 10;
                    iifname "{ROUTER_LAN_IF}" drop
                }}
                chain forward {{
                    type filter hook forward priority filter - 10;
                    iifname "{ROUTER_LAN_IF}" drop
                }}
            }}""")

    def gateway_drop_ping(self):
        """Router ignores ICMP echo requests to itself; everything else works."""
        self.nft("rt", """
            table inet lab_noping {
                chain input {
                    type filter hook input priority filter;
                    icmp type echo-request drop
                }
            }""")

    def wan_down(self):
        """Operator side of the WAN link down: the router loses carrier on wan0."""
        self.ip("isp", "link", "set", ISP_IF, "down")

    def operator_dns_dead(self):
        """Operator resolver silent (no reply); the public resolver still answers."""
        self.nft("isp", f"""
            table ip lab_dnsdead {{
                chain input {{
                    type filter hook input priority filter;
                    ip daddr {OPERATOR_DNS} udp dport {DNS_PORT} drop
                    ip daddr {OPERATOR_DNS} tcp dport {DNS_PORT} drop
                }}
            }}""")

    def set_pc_dns(self, addr):
        """Point the PC's resolv.conf at `addr`."""
        (self.netns_etc("pc") / "resolv.conf").write_text(f"nameserver {addr}\n")

    def redirect_http_to_portal(self):
        """Operator captive portal: HTTP to the web server lands on the portal (302)."""
        self.nft("isp", f"""
            table ip lab_portal {{
                chain prerouting {{
                    type nat hook prerouting priority dstnat;
                    ip daddr {WEB_ADDR} tcp dport {HTTP_PORT} dnat to {PORTAL_ADDR}
                }}
            }}""")

    def block_http(self):
        """HTTP to the web server is dropped; nothing else changes."""
        self.nft("isp", f"""
            table ip lab_nohttp {{
                chain input {{
                    type filter hook input priority filter;
                    ip daddr {WEB_ADDR} tcp dport {HTTP_PORT} drop
                }}
            }}""")

    def remove_pc_default_route(self):
        self.ip("pc", "route", "del", "default")

    def _flush_pc_default_routes(self):
        self.ip("pc", "-4", "route", "flush", "exact", "0.0.0.0/0")

    def set_ping_group_range(self, lo, hi):
        """net.ipv4.ping_group_range in the PC namespace (default there "1 0")."""
        self.sysctl("pc", "net.ipv4.ping_group_range", f"{lo} {hi}")

    # ------------------------------------------------------------------ PPPoE
    def make_pc_pppoe_dialer(self, access_concentrator, ac_name=DEFAULT_AC_NAME,
                             service=DEFAULT_SERVICE):
        """The PC dials PPPoE itself through a bridged modem.

        pc0 is re-created with its peer (ac0) in a new "ac" namespace instead of
        the router: no IPv4 address, no routes. The PC gets a pppd peer file and
        secrets. With access_concentrator=True, pppoe-server answers PADI with
        PADO there (sessions cannot come up: no /dev/ppp in this kernel).
        May be called again (e.g. on `pppoe_lab`) to switch the AC on or off.
        """
        if not HOST_PPP_DIR.is_dir():
            raise LabError(f"{HOST_PPP_DIR} missing on the host: ip netns exec cannot "
                           "bind the PC's ppp configuration over it")
        if not (NETNS_RUN_DIR / self.ns["ac"]).exists():
            self._wire_bridged_modem()
        for name in ("ac-pppoe-server", "ac-ppp-ac"):
            if name in self._daemons:
                self._terminate(name)
        self._write_ppp_config()
        if access_concentrator:
            self._start_pppoe_server(ac_name, service)

    def _wire_bridged_modem(self):
        self._make_namespaces("ac")
        self.delete_pc_adapter()  # takes the router's lan0 with it
        self._veth("pc", PC_IF, "ac", AC_IF)
        self.ip("pc", "link", "set", PC_IF, "up")
        self.ip("ac", "link", "set", AC_IF, "up")
        self._flush_pc_default_routes()

    def _write_ppp_config(self):
        ppp = self.netns_etc("pc") / "ppp"
        (ppp / "peers").mkdir(parents=True, exist_ok=True)
        (ppp / "peers" / PPPOE_PEER).write_text(
            "# PPPoE through a bridged modem (written by the fault lab)\n"
            "plugin rp-pppoe.so\n"
            f"nic-{PC_IF}\n"
            f'user "{self.pppoe_user}"\n'
            "noipdefault\n"
            "defaultroute\n"
            "persist\n")
        secret_line = f'"{self.pppoe_user}"\t*\t"{self.pppoe_password}"\t*\n'
        for name in ("chap-secrets", "pap-secrets"):
            path = ppp / name
            path.write_text("# client\tserver\tsecret\tIP addresses\n" + secret_line)
            path.chmod(0o600)

    def _start_pppoe_server(self, ac_name, service):
        self._spawn("ac", "ac-pppoe-server", [
            "pppoe-server", "-F", "-I", AC_IF, "-C", ac_name, "-S", service,
            "-L", AC_LOCAL_ADDR, "-R", AC_REMOTE_ADDR, "-N", "4"])
        self._wait_until("ac-pppoe-server", self.pppoe_server_listening_pid,
                         "PPPoE discovery socket")

    @staticmethod
    def pppoe_server_listening_pid(pid):
        return _packet_socket_open(pid, ETH_P_PPP_DISC)

    def pppoe_server_listening(self):
        """True while pppoe-server runs and holds its PPPoE discovery socket."""
        return (self.daemon_alive("ac-pppoe-server")
                and _packet_socket_open(self.daemon_pid("ac-pppoe-server"), ETH_P_PPP_DISC))

    # --------------------------------------------- PPPoE: the lab's own AC (ppp_ac.py)
    def start_ppp_ac(self, mode="accept", *, auth="pap", message=None, ac_name=DEFAULT_AC_NAME,
                     service=DEFAULT_SERVICE, pads_error=None):
        """Replace pppoe-server by the lab's own access concentrator (tests/lab/ppp_ac.py).

        It runs the session stages too: mode "accept" (the lab account logs in and gets
        AC_REMOTE_ADDR), "refuse" (every login refused with `message`), "pads-error" (PADR
        answered by an error PADS), "lcp-timeout" (PADS, then silence). The account reaches it
        through the environment, never its command line. Its events (padi, padr, pads, pap, chap,
        padt, ...) are read with ppp_ac_events().
        """
        if not (NETNS_RUN_DIR / self.ns["ac"]).exists():
            self.make_pc_pppoe_dialer(access_concentrator=False)
        for name in ("ac-pppoe-server", "ac-ppp-ac"):
            if name in self._daemons:
                self._terminate(name)
        self.ppp_ac_events_path = self.tmpdir / "ppp-ac-events.jsonl"
        self.ppp_ac_events_path.write_text("")
        ready = self.tmpdir / "ppp-ac.ready"
        ready.unlink(missing_ok=True)
        argv = [sys.executable, str(PPP_AC_SCRIPT), "serve", "--iface", AC_IF, "--mode", mode,
                "--auth", auth, "--ac-name", ac_name, "--service", service,
                "--events", str(self.ppp_ac_events_path), "--ready", str(ready)]
        if message is not None:
            argv += ["--message", message]
        if pads_error is not None:
            argv += ["--pads-error-tag", pads_error[0], "--pads-error-text", pads_error[1]]
        env = self._clean_env("/root")
        env.update(LAB_AC_USER=self.pppoe_user, LAB_AC_PASSWORD=self.pppoe_password)
        log_path = self.tmpdir / "ac-ppp-ac.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(["ip", "netns", "exec", self.ns["ac"], *argv],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                    cwd="/", start_new_session=True)
        self._daemons["ac-ppp-ac"] = (proc, log_path)
        self._wait_until("ac-ppp-ac", lambda pid: ready.exists()
                         and _packet_socket_open(pid, ETH_P_PPP_DISC), "PPPoE sockets")
        return self

    def ppp_ac_events(self):
        """The lab AC's events so far, oldest first (dicts with "event" and its data)."""
        path = getattr(self, "ppp_ac_events_path", None)
        if path is None or not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def set_pppoe_nic(self, name):
        """The dialer's peers file names adapter `name` (e.g. one this PC does not have)."""
        peers = self.netns_etc("pc") / "ppp" / "peers" / PPPOE_PEER
        text = peers.read_text()
        lines = [f"nic-{name}" if line.startswith("nic-") else line for line in text.splitlines()]
        peers.write_text("\n".join(lines) + "\n")

    def write_ppp_log(self, lines, name=PPP_LOG_NAME):
        """pppd's own log (the peers file's `logfile` option) with these bare message lines.

        It lives in the PC's /etc/ppp (/etc/netns/<pc>/ppp/...): /var/log would be the host's
        and every lab's.
        """
        ppp = self.netns_etc("pc") / "ppp"
        (ppp / name).write_text("".join(line + "\n" for line in lines))
        peers = ppp / "peers" / PPPOE_PEER
        option = f"logfile /etc/ppp/{name}"
        text = peers.read_text()
        if option not in text.splitlines():
            peers.write_text(text + option + "\n")
