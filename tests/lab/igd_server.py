"""A test UPnP Internet Gateway Device: answers SSDP M-SEARCH, serves a description and SOAP.

It plays what miniupnpd cannot (a refused login, no carrier, a carrier-grade NAT address) and
what no honest router does (hostile replies). In the lab it runs in the router's namespace:

    start(lab, status="Disconnected", error="ERROR_AUTHENTICATION_FAILURE")
    python3 igd_server.py --http-addr 192.168.77.1 --multicast-if 192.168.77.1 --status ...

Unit tests run it in-process on loopback with `serve(Config(...))` (unicast SSDP only).
Hostile modes (--hostile): huge, huge-length, bomb, malformed, endless, endless-headers, stall,
gzip, redirect-away, redirect-same, soap-bomb, soap-fault, foreign-location, ssdp-noise.
Standard library only: it runs in a namespace without the project installed.
"""
from __future__ import annotations

import argparse
import dataclasses
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
LAB_HTTP_PORT = 49152            # where many real IGDs serve their description
DESCRIPTION_PATH = "/rootDesc.xml"
CGNAT_ADDRESS = "100.64.12.34"   # RFC 6598 shared space: the operator's carrier-grade NAT
FOREIGN_HOST = "203.0.113.80"    # the lab's web server: a host no IGD description may point to
HOSTILE_MODES = ("huge", "huge-length", "bomb", "malformed", "endless", "endless-headers", "stall",
                 "gzip", "redirect-away", "redirect-same", "soap-bomb", "soap-fault",
                 "foreign-location", "ssdp-noise")
HUGE_BYTES = 8 * 1024 * 1024     # far above any limit a client should keep
TRICKLE_INTERVAL_S = 0.05        # one byte this often: every read succeeds, none finishes
STALL_S = 30.0                   # longer than any client should wait
READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.01
STOP_TIMEOUT = 3.0
SHUTDOWN_POLL_S = 0.02           # how fast an in-process server notices close()
SCRIPT = Path(__file__).resolve()

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&lol9;</friendlyName></device></root>
"""
MALFORMED = (b'<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
             b"<friendlyName>R&D <router></friendlyName><serviceList><service>")


@dataclasses.dataclass
class Config:
    status: str = "Connected"                 # NewConnectionStatus
    error: str = "ERROR_NONE"                 # NewLastConnectionError
    uptime: int = 4242
    external_ip: str = CGNAT_ADDRESS
    link: str = "Up"                          # NewPhysicalLinkStatus
    service: str = "WANPPPConnection"         # or WANIPConnection
    unused_service: bool = False              # also an unused WANIPConnection (Disconnected)
    hostile: str | None = None
    fault_code: str = "401"                   # errorCode of soap-fault (hostile ones too)
    http_addr: str = "127.0.0.1"              # where HTTP listens and LOCATION points
    http_port: int = 0                        # 0: any free port
    ssdp_port: int = 0                        # 0: any free port (unit tests); lab: 1900
    multicast_if: str | None = None           # join the SSDP group on this address (lab)


def description(config: Config) -> bytes:
    unused = ("" if not config.unused_service else
              "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
              "<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>"
              "<SCPDURL>/ip.xml</SCPDURL><controlURL>/ctl/unused</controlURL>"
              "<eventSubURL>/evt/unused</eventSubURL></service>")
    return f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>Lab test IGD</friendlyName><manufacturer>broadband-diagnose tests</manufacturer>
<modelName>test-igd</modelName><UDN>uuid:00000000-0000-4000-8000-00000000a1d0</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<UDN>uuid:00000000-0000-4000-8000-00000000a1d1</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
<SCPDURL>/link.xml</SCPDURL><controlURL>/ctl/link</controlURL><eventSubURL>/evt/link</eventSubURL>
</service></serviceList>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<UDN>uuid:00000000-0000-4000-8000-00000000a1d2</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:{config.service}:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANConn1</serviceId>
<SCPDURL>/conn.xml</SCPDURL><controlURL>/ctl/conn</controlURL><eventSubURL>/evt/conn</eventSubURL>
</service>{unused}</serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>
""".encode()


def soap_values(config: Config, path: str, action: str) -> dict[str, str] | None:
    if path == "/ctl/unused":
        state = {"GetStatusInfo": {"NewConnectionStatus": "Disconnected",
                                   "NewLastConnectionError": "ERROR_NONE", "NewUptime": "0"},
                 "GetExternalIPAddress": {"NewExternalIPAddress": ""}}
        return state.get(action)
    if path == "/ctl/conn" and action == "GetStatusInfo":
        return {"NewConnectionStatus": config.status, "NewLastConnectionError": config.error,
                "NewUptime": str(config.uptime)}
    if path == "/ctl/conn" and action == "GetExternalIPAddress":
        return {"NewExternalIPAddress": config.external_ip}
    if path == "/ctl/link" and action == "GetCommonLinkProperties":
        return {"NewWANAccessType": "DSL", "NewLayer1UpstreamMaxBitRate": "40000000",
                "NewLayer1DownstreamMaxBitRate": "100000000",
                "NewPhysicalLinkStatus": config.link}
    return None


def soap_envelope(inner: str) -> bytes:
    return ('<?xml version="1.0"?>\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
            ' s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f"{inner}</s:Body></s:Envelope>\n").encode()


def soap_fault(code: int | str, text: str) -> bytes:
    return soap_envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{code}</errorCode><errorDescription>{text}</errorDescription>"
        "</UPnPError></detail></s:Fault>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LabIGD/1.0 UPnP/1.1"
    config: Config  # set per server

    def log_message(self, fmt, *args):  # quiet: the lab keeps daemon logs small
        pass

    def _send(self, code: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", 'text/xml; charset="utf-8"')
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        hostile = self.config.hostile
        if self.path == "/real.xml" or (self.path == DESCRIPTION_PATH and hostile != "redirect-same"):
            if hostile in ("huge", "huge-length", "endless", "endless-headers", "stall"):
                return self._hostile_stream(hostile)
            body = {"bomb": BILLION_LAUGHS, "malformed": MALFORMED}.get(hostile) or description(self.config)
            if hostile == "gzip":
                return self._send(200, body, {"Content-Encoding": "gzip"})
            if hostile == "redirect-away":
                return self._send(302, b"", {"Location": f"http://{FOREIGN_HOST}{DESCRIPTION_PATH}"})
            return self._send(200, body)
        if self.path == DESCRIPTION_PATH:    # redirect-same
            return self._send(301, b"", {"Location": "/real.xml"})
        self._send(404, b"")

    def do_POST(self):
        length = self.headers.get("Content-Length", "0")
        self.rfile.read(min(int(length) if length.isdigit() else 0, 65536))
        action = self.headers.get("SOAPAction", "").strip('"').rpartition("#")[2]
        hostile = self.config.hostile
        if hostile == "soap-bomb":
            return self._send(200, BILLION_LAUGHS)
        values = soap_values(self.config, self.path, action)
        if hostile == "soap-fault" or values is None:
            return self._send(500, soap_fault(self.config.fault_code, "Invalid Action"))
        service = ("urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1" if self.path == "/ctl/link"
                   else "urn:schemas-upnp-org:service:WANIPConnection:1" if self.path == "/ctl/unused"
                   else f"urn:schemas-upnp-org:service:{self.config.service}:1")
        inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
        self._send(200, soap_envelope(f'<u:{action}Response xmlns:u="{service}">{inner}'
                                      f"</u:{action}Response>"))

    def _hostile_stream(self, mode: str) -> None:
        """Replies that never end or never fit; stops when the client hangs up."""
        self.close_connection = True
        try:
            if mode == "stall":
                time.sleep(STALL_S)
                return
            if mode == "endless-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Padding: ")
                while True:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL_S)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            if mode == "huge-length":   # announced up front: a client can refuse unread
                self.send_header("Content-Length", str(HUGE_BYTES))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'<?xml version="1.0"?>\n<root><!-- ')
            if mode == "endless":
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL_S)
            chunk = b" " * 65536
            for _ in range(HUGE_BYTES // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind looks up its own name: in a namespace without a resolver that
        # blocks for seconds (lab notes). The name is never used here.
        socket.socket.bind(self.socket, self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]


def ssdp_answer(config: Config, target: str, http_port: int) -> bytes:
    host = FOREIGN_HOST if config.hostile == "foreign-location" else config.http_addr
    return ("HTTP/1.1 200 OK\r\n"
            "CACHE-CONTROL: max-age=120\r\n"
            f"ST: {target}\r\n"
            f"USN: uuid:00000000-0000-4000-8000-00000000a1d0::{target}\r\n"
            "EXT:\r\n"
            "SERVER: Linux/6 UPnP/1.1 LabIGD/1.0\r\n"
            f"LOCATION: http://{host}:{http_port}{DESCRIPTION_PATH}\r\n\r\n").encode()


class Responder:
    """SSDP: answers M-SEARCH for an IGD (or ssdp:all) to the sender, unicast."""

    def __init__(self, config: Config, http_port: int):
        self.config = config
        self.http_port = http_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if config.multicast_if:
            self.sock.bind(("", config.ssdp_port))
            membership = struct.pack("4s4s", socket.inet_aton(SSDP_GROUP),
                                     socket.inet_aton(config.multicast_if))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        else:
            self.sock.bind((config.http_addr, config.ssdp_port))
        self.port = self.sock.getsockname()[1]

    def serve_forever(self) -> None:
        while True:
            try:
                data, sender = self.sock.recvfrom(4096)
            except OSError:
                return  # closed
            self.answer(data, sender)

    def serve_pending(self) -> None:
        """Answer the searches queued so far, without waiting: a unit test's VirtualClock calls
        this (no thread: what it answers is there before the search looks)."""
        while True:
            try:
                data, sender = self.sock.recvfrom(4096, socket.MSG_DONTWAIT)
            except OSError:   # nothing queued (or closed)
                return
            self.answer(data, sender)

    def answer(self, data: bytes, sender) -> None:
        lines = data.decode("latin-1").split("\r\n")
        if not lines[0].startswith("M-SEARCH"):
            return
        target = next((l.split(":", 1)[1].strip() for l in lines if l.upper().startswith("ST:")), "")
        if target == "ssdp:all":
            target = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
        if "InternetGatewayDevice" not in target:
            return
        try:
            if self.config.hostile == "ssdp-noise":
                for noise in (b"\x00" * 3000, b"NOTIFY * HTTP/1.1\r\n\r\n",
                              b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nLOCATION: x\r\n\r\n",
                              b"HTTP/1.1 404 Not Found\r\n\r\n"):
                    self.sock.sendto(noise, sender)
            self.sock.sendto(ssdp_answer(self.config, target, self.http_port), sender)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Running:
    """An in-process test IGD (unit tests): its ports, and close(). With ssdp_thread=False its
    SSDP responder answers only when ssdp.serve_pending() is called (a VirtualClock's serve)."""

    def __init__(self, config: Config, ssdp_thread: bool = True):
        handler = type("BoundHandler", (Handler,), {"config": config})
        self.http = QuietServer((config.http_addr, config.http_port), handler)
        self.http_port = self.http.server_address[1]
        self.ssdp = Responder(config, self.http_port)
        self.ssdp_port = self.ssdp.port
        self.threads = [threading.Thread(target=self.http.serve_forever, args=(SHUTDOWN_POLL_S,),
                                         daemon=True)]
        if ssdp_thread:
            self.threads.append(threading.Thread(target=self.ssdp.serve_forever, daemon=True))
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.ssdp.close()
        self.http.shutdown()
        self.http.server_close()


def serve(config: Config, ssdp_thread: bool = True) -> Running:
    return Running(config, ssdp_thread)


# ------------------------------------------------------------------ the lab side (root, netns)
def listening(pid: int, proto: str, port: int) -> bool:
    """True when the namespace of `pid` has an IPv4 or IPv6 socket on `port` (TCP: listening).
    miniupnpd listens on dual-stack IPv6 sockets."""
    for table in (proto, proto + "6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].rsplit(":", 1)[1] == "%04X" % port and (proto != "tcp" or fields[3] == "0A"):
                return True
    return False


class LabDaemon:
    """A daemon in a lab namespace, started like the lab's own: its own session, output to a
    log in the lab's tmpdir, readiness by polling its sockets, terminate and wait on stop()."""

    def __init__(self, lab, role: str, name: str, argv: list[str], env: dict | None = None):
        self.name = name
        self.log_path = Path(lab.tmpdir) / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns[role], *argv],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                                         env=env or _lab_env(), start_new_session=True)

    def wait_ready(self, sockets: list[tuple[str, int]]) -> "LabDaemon":
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(listening(self.proc.pid, proto, port) for proto, port in sockets):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name}: not listening on {sockets} after {READY_TIMEOUT} s")
            time.sleep(POLL_INTERVAL)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            import os
            import signal
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                self.proc.wait()

    def stop_with(self, lab) -> "LabDaemon":
        """Scenario steps only get the lab: stop this daemon first when the lab stops."""
        lab_stop = lab.stop

        def stop():
            self.stop()
            lab_stop()
        lab.stop = stop
        return self


def _lab_env() -> dict:
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": "/root", "PYTHONDONTWRITEBYTECODE": "1"}


def start(lab, **settings) -> LabDaemon:
    """The test IGD in the lab router's namespace, on its LAN address; stopped with the lab."""
    from .netlab import ROUTER_LAN_ADDR
    argv = [sys.executable, str(SCRIPT), "--http-addr", ROUTER_LAN_ADDR,
            "--multicast-if", ROUTER_LAN_ADDR, "--http-port", str(LAB_HTTP_PORT)]
    for key, value in settings.items():
        argv += [f"--{key.replace('_', '-')}", str(value)] if value is not True else [f"--{key.replace('_', '-')}"]
    daemon = LabDaemon(lab, "rt", "rt-test-igd", argv).stop_with(lab)
    return daemon.wait_ready([("tcp", LAB_HTTP_PORT), ("udp", SSDP_PORT)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Config()
    parser.add_argument("--http-addr", default=defaults.http_addr)
    parser.add_argument("--http-port", type=int, default=LAB_HTTP_PORT)
    parser.add_argument("--multicast-if", default=None)
    parser.add_argument("--status", default=defaults.status)
    parser.add_argument("--error", default=defaults.error)
    parser.add_argument("--uptime", type=int, default=defaults.uptime)
    parser.add_argument("--external-ip", default=defaults.external_ip)
    parser.add_argument("--link", default=defaults.link)
    parser.add_argument("--service", default=defaults.service,
                        choices=("WANPPPConnection", "WANIPConnection"))
    parser.add_argument("--unused-service", action="store_true")
    parser.add_argument("--hostile", choices=HOSTILE_MODES, default=None)
    args = parser.parse_args(argv)
    config = Config(status=args.status, error=args.error, uptime=args.uptime,
                    external_ip=args.external_ip, link=args.link, service=args.service,
                    unused_service=args.unused_service, hostile=args.hostile,
                    http_addr=args.http_addr, http_port=args.http_port, ssdp_port=SSDP_PORT,
                    multicast_if=args.multicast_if)
    running = serve(config)
    print(f"test IGD: http://{args.http_addr}:{running.http_port}{DESCRIPTION_PATH}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
