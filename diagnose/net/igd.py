"""UPnP Internet Gateway Device (IGD): SSDP search, device description, SOAP status queries.

A device on the LAN is untrusted input. Every datagram, description and SOAP reply is size-limited;
every HTTP exchange runs under a hard deadline after which its socket is shut down (requests'
timeouts bound each read, not the exchange, so a device trickling one byte at a time would hold
us forever); XML is parsed by defusedxml with DTDs forbidden (no entity bombs, no external
entities); a URL a device hands out must stay on that device. Observations only: never raises.
"""
from __future__ import annotations

import errno
import ipaddress
import re
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

from . import causes

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
MAX_DOCUMENT = 64 * 1024  # description or SOAP reply; real ones are a few KiB
MAX_REDIRECTS = 2        # same-device redirects followed for the description
MAX_TEXT = 80            # device-supplied text kept in the facts
MAX_CONNECTIONS = 2      # WAN connection services queried (a router has one or two)
CONNECTION_SERVICES = ("WANIPConnection", "WANPPPConnection")
LINK_SERVICE = "WANCommonInterfaceConfig"
_SERVICE_TYPE = re.compile(
    r"^urn:schemas-upnp-org:service:(WANIPConnection|WANPPPConnection|WANCommonInterfaceConfig)"
    r":([1-9])$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HEADERS = {"Accept-Encoding": "identity", "Connection": "close",
            "User-Agent": "broadband-diagnose UPnP/1.1"}
_SOAP_ENVELOPE = (
    '<?xml version="1.0"?>\r\n'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    '<s:Body><u:{action} xmlns:u="{service}"/></s:Body></s:Envelope>\r\n')
_ERRNO_OUTCOME = {errno.ECONNREFUSED: "refused", errno.ENETUNREACH: "unreachable",
                  errno.EHOSTUNREACH: "unreachable", errno.ETIMEDOUT: "timeout"}


def clean(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Device text as it may enter a report: printable, stripped, bounded; None when empty."""
    if not isinstance(value, str):
        return None
    text = _UNPRINTABLE.sub("", value).strip()[:limit]
    return text or None


def token(value: Any) -> str | None:
    """A protocol word (Connected, ERROR_NO_CARRIER, Up, ...) or None: nothing else passes."""
    text = value.strip() if isinstance(value, str) else ""
    return text if _TOKEN.match(text) else None


# ----------------------------------------------------------------------------------- SSDP
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


def same_device_url(url: str, address: str) -> str | None:
    """url when it is plain http to the device's own address (an IPv4 literal), else None."""
    if not isinstance(url, str) or len(url) > 512 or _UNPRINTABLE.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname != address or parts.username or port == 0:
        return None
    return url


def search(local_addr: str, wait: float, accept: Callable[[str], bool], *,
           prefer: str | None = None, target: tuple[str, int] = SSDP_GROUP,
           unicast_port: int = SSDP_GROUP[1]) -> dict[str, Any]:
    """M-SEARCH for an IGD from local_addr, listening `wait` seconds (less once `prefer` answers).

    The search goes to the multicast group and, when `prefer` (the gateway) is given, to that
    device too: it answers a unicast search at once, and a gateway without SSDP says so with a
    port unreachable, after which only CLOSED_GRACE_S more is spent on multicast answers.
    `gateway_port` records it: answered, closed or None (nothing heard). Answers from addresses
    `accept` refuses, or naming a LOCATION on another host, are ignored. `target` is the
    multicast group; tests pass a loopback address instead.
    """
    devices: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    result = {"outcome": "none", "devices": devices, "ignored": ignored, "error": None,
              "gateway_port": None}
    deadline = time.monotonic() + wait
    resend_at: float | None = time.monotonic() + wait * RESEND_FRACTION
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
                deadline = min(deadline, time.monotonic() + CLOSED_GRACE_S)

            if _send_searches(sock, target, direct):
                gateway_closed()
            for _ in range(MAX_DATAGRAMS):
                now = time.monotonic()
                if now >= deadline or (prefer and any(d["address"] == prefer for d in devices)):
                    break
                if resend_at is not None and now >= resend_at:
                    resend_at = None
                    if not devices and _send_searches(sock, target, direct):
                        gateway_closed()
                        continue
                waiting = [s for s in (sock, direct) if s is not None]
                readable, _, _ = select.select(
                    waiting, [], [], max(0.001, min(deadline, resend_at or deadline) - now))
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


# ----------------------------------------------------------------------------------- HTTP
class Cutoff:
    """A hard deadline for HTTP exchanges: when it passes, every socket opened under it is shut
    down, which wakes any blocked read. Use as a context manager."""

    def __init__(self, seconds: float):
        self.seconds = max(0.0, seconds)
        self.at = time.monotonic() + self.seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Cutoff":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket | None) -> None:
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _session(cutoff: Cutoff):
    """A requests session without proxies or retries whose sockets the cutoff can shut."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

    class CutConnection(HTTPConnection):
        def connect(self):
            super().connect()
            cutoff.track(self.sock)

    class CutPool(HTTPConnectionPool):
        ConnectionCls = CutConnection

    class CutAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": CutPool}

    session = requests.Session()
    session.trust_env = False      # no environment proxies: the router is on the LAN
    session.mount("http://", CutAdapter(max_retries=0))
    return session


def exchange(url: str, cutoff: Cutoff, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, limit: int = MAX_DOCUMENT) -> dict[str, Any]:
    """One GET (or POST of body) under the cutoff, never following redirects.

    outcome: ok (2xx), http_error, redirect (with location), too_large, compressed, timeout,
    refused, unreachable or error; status_code; body (bytes, at most `limit`) when read.
    """
    import requests

    result: dict[str, Any] = {"outcome": "error", "status_code": None, "body": None,
                              "location": None}
    wait = cutoff.remaining()
    if wait <= 0:
        result["outcome"] = "timeout"
        return result
    session = _session(cutoff)
    try:
        with session.request("POST" if body is not None else "GET", url, data=body,
                             headers={**_HEADERS, **(headers or {})}, allow_redirects=False,
                             stream=True, timeout=(wait, wait)) as reply:
            result["status_code"] = reply.status_code
            result["location"] = reply.headers.get("Location")
            length = reply.headers.get("Content-Length", "")
            if reply.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
                result["outcome"] = "compressed"   # asked for identity; a bomb is not unpacked
            elif (whole_number(length) or 0) > limit:
                result["outcome"] = "too_large"
            else:
                data = reply.raw.read(limit + 1, decode_content=False) or b""
                if cutoff.expired:
                    result["outcome"] = "timeout"
                elif len(data) > limit:
                    result["outcome"] = "too_large"
                else:
                    result["body"] = data
                    code = reply.status_code
                    result["outcome"] = ("ok" if 200 <= code < 300 else
                                         "redirect" if 300 <= code < 400 and result["location"]
                                         else "http_error")
    except requests.exceptions.Timeout:
        result["outcome"] = "timeout"
    except Exception as exc:  # requests, urllib3 and http.client all raise on a broken peer
        cause = causes.os_error(exc)
        result["outcome"] = ("timeout" if cutoff.expired else
                             _ERRNO_OUTCOME.get(cause.errno, "error") if cause else "error")
        result["error"] = type(exc).__name__
    finally:
        session.close()
    return result


# ------------------------------------------------------------------------------------ XML
def parse_xml(data: bytes):
    """(root element, None) or (None, problem): forbidden_xml for DTDs/entities, bad_xml else."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeElementTree
    try:
        return SafeElementTree.fromstring(data, forbid_dtd=True), None
    except DefusedXmlException:
        return None, "forbidden_xml"
    except (ParseError, ValueError, UnicodeError, RecursionError, TypeError):
        return None, "bad_xml"


def local(tag: Any) -> str:
    """An element's name without its namespace ({urn:...}device -> device)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_text(element, name: str) -> str | None:
    for child in element if element is not None else ():
        if local(child.tag) == name:
            return child.text
    return None


def describe(location: str, address: str, cutoff: Cutoff) -> dict[str, Any]:
    """Fetch and read the device description at location (following same-device redirects)."""
    url = location
    for _ in range(MAX_REDIRECTS + 1):
        reply = exchange(url, cutoff)
        if reply["outcome"] != "redirect":
            break
        url = same_device_url(urljoin(url, reply["location"] or ""), address)
        if url is None:
            return {"outcome": "redirect", "status_code": reply["status_code"]}
    else:
        return {"outcome": "redirect", "status_code": reply["status_code"]}
    if reply["outcome"] != "ok":
        return {"outcome": reply["outcome"], "status_code": reply["status_code"]}
    root, problem = parse_xml(reply["body"])
    if root is None:
        return {"outcome": problem, "status_code": reply["status_code"]}
    return {"outcome": "ok", "status_code": reply["status_code"],
            **read_description(root, url, address)}


def read_description(root, url: str, address: str) -> dict[str, Any]:
    """Who the device is and its WAN services, with control URLs on the device itself."""
    base = url
    url_base = child_text(root, "URLBase")
    if url_base and same_device_url(url_base.strip(), address):
        base = url_base.strip()
    device = next((e for e in root.iter() if local(e.tag) == "device"), None)
    facts: dict[str, Any] = {
        "friendly_name": clean(child_text(device, "friendlyName")),
        "manufacturer": clean(child_text(device, "manufacturer")),
        "model": clean(child_text(device, "modelName")),
        "services": [], "ignored_services": 0,
    }
    for element in root.iter():
        if local(element.tag) != "service":
            continue
        match = _SERVICE_TYPE.match((child_text(element, "serviceType") or "").strip())
        if not match:
            continue
        control = same_device_url(urljoin(base, (child_text(element, "controlURL") or "").strip()),
                                  address)
        if control is None or len(facts["services"]) >= MAX_LISTED:
            facts["ignored_services"] += 1
            continue
        facts["services"].append({"name": match.group(1), "version": int(match.group(2)),
                                  "service_type": match.group(0), "control_url": control})
    return facts


# ----------------------------------------------------------------------------------- SOAP
def soap(service: dict[str, Any], action: str, cutoff: Cutoff) -> dict[str, Any]:
    """Call an argument-less action; outcome ok with `values`, fault with its UPnP error, or why not."""
    service_type = service["service_type"]   # matched _SERVICE_TYPE: safe in a header
    reply = exchange(service["control_url"], cutoff,
                     body=_SOAP_ENVELOPE.format(action=action, service=service_type).encode(),
                     headers={"Content-Type": 'text/xml; charset="utf-8"',
                              "SOAPAction": f'"{service_type}#{action}"'})
    fault = reply["outcome"] == "http_error" and reply["status_code"] == 500 and reply["body"]
    if reply["outcome"] != "ok" and not fault:
        return {"outcome": reply["outcome"], "status_code": reply["status_code"]}
    root, problem = parse_xml(reply["body"])
    if root is None:
        return {"outcome": problem, "status_code": reply["status_code"]}
    if fault:
        error = next((e for e in root.iter() if local(e.tag) == "UPnPError"), None)
        code = child_text(error, "errorCode")
        fault_code = whole_number(code)
        if code is not None and code.strip() and fault_code is None:
            return {"outcome": "bad_reply", "status_code": 500}   # e.g. 5000 digits, or not ASCII
        return {"outcome": "fault", "status_code": 500, "fault_code": fault_code,
                "fault": clean(child_text(error, "errorDescription"))}
    answer = next((e for e in root.iter() if local(e.tag) == f"{action}Response"), None)
    if answer is None:
        return {"outcome": "bad_reply", "status_code": reply["status_code"]}
    values = {}
    for child in list(answer)[:MAX_LISTED * 2]:
        values[local(child.tag)] = child.text if isinstance(child.text, str) else None
    return {"outcome": "ok", "status_code": reply["status_code"], "values": values}


def query(services: list[dict[str, Any]], cutoff: Cutoff) -> dict[str, Any]:
    """All status actions at once: per connection service GetStatusInfo and GetExternalIPAddress,
    and GetCommonLinkProperties. {"connections": [{service, calls}], "link": {...} | None}."""
    connections = [s for s in services if s["name"] in CONNECTION_SERVICES][:MAX_CONNECTIONS]
    link = next((s for s in services if s["name"] == LINK_SERVICE), None)
    calls = [(s, action) for s in connections
             for action in ("GetStatusInfo", "GetExternalIPAddress")]
    if link is not None:
        calls.append((link, "GetCommonLinkProperties"))
    if not calls:
        return {"connections": [], "link": None}
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(soap, service, action, cutoff) for service, action in calls]
        answers = [future.result() for future in futures]
    by_call = {(id(service), action): answer for (service, action), answer in zip(calls, answers)}
    return {
        "connections": [{"service": s, "status": by_call[(id(s), "GetStatusInfo")],
                         "external": by_call[(id(s), "GetExternalIPAddress")]}
                        for s in connections],
        "link": by_call[(id(link), "GetCommonLinkProperties")] if link is not None else None,
    }


# -------------------------------------------------------------------------------- values
SHARED = ipaddress.ip_network("100.64.0.0/10")        # RFC 6598: carrier-grade NAT
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def address_kind(text: Any) -> tuple[str | None, str | None]:
    """(IPv4 address, kind): public, private (RFC 1918), shared (100.64/10) or reserved;
    (None, None) for an empty or invalid answer."""
    try:
        address = ipaddress.IPv4Address((text or "").strip())
    except ValueError:
        return None, None
    if address in SHARED:
        return str(address), "shared"
    if any(address in network for network in PRIVATE):
        return str(address), "private"
    return str(address), "public" if address.is_global else "reserved"


MAX_DIGITS = 20   # 2**64 has 20 digits; a device's number is never longer


def whole_number(text: Any) -> int | None:
    """A non-negative whole number written in ASCII digits (at most MAX_DIGITS), else None.

    Strict on purpose: str.isdigit() also accepts Arabic-Indic, full-width and superscript
    digits, and int() refuses some of those and any number of more than 4300 digits."""
    value = text.strip(" \t\r\n") if isinstance(text, str) else ""
    if not 0 < len(value) <= MAX_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def malformed_number(text: Any) -> bool:
    """The device gave something in place of a number, but not a number (see whole_number)."""
    return isinstance(text, str) and bool(text.strip()) and whole_number(text) is None
