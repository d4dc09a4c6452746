"""Standard-library network probes the lab tests run inside a namespace.

    python3 probes.py dns SERVER NAME       one A query over UDP, no retries
    python3 probes.py http URL              one GET, redirects not followed
    python3 probes.py tcp ADDR PORT         TCP connect
    python3 probes.py icmp ADDR             one echo over an ICMP datagram socket
                                            (unprivileged ping: needs ping_group_range)
    python3 probes.py dhcp IFACE            DHCPDISCOVER (broadcast flag), wait for an OFFER
    python3 probes.py padi IFACE            PPPoE PADI, wait for a PADO

Each prints one JSON object on stdout. Needs root for dhcp (port 68) and padi.
"""
import argparse
import http.client
import json
import random
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 2.0

# --- DNS ----------------------------------------------------------------------
DNS_TYPE_A = 1
DNS_CLASS_IN = 1


def _dns_query(name, query_id):
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # RD, one question
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return header + qname + struct.pack("!HH", DNS_TYPE_A, DNS_CLASS_IN)


def _skip_name(data, offset):
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:  # compression pointer
            return offset + 2
        offset += 1 + length


def _dns_answers(data):
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", data[:12])
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addrs = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _, _, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == DNS_TYPE_A and rdlength == 4:
            addrs.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += rdlength
    return {"status": "answer", "rcode": flags & 0x000F, "aa": bool(flags & 0x0400),
            "addrs": addrs}


def probe_dns(server, name, timeout):
    query_id = random.getrandbits(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(_dns_query(name, query_id), (server, 53))
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data, _ = sock.recvfrom(4096)
                if struct.unpack("!H", data[:2])[0] == query_id:
                    return _dns_answers(data)
        except socket.timeout:
            return {"status": "timeout"}
        except OSError as exc:
            return {"status": "error", "error": str(exc)}


# --- HTTP / TCP ---------------------------------------------------------------
def probe_http(url, timeout):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn.request("GET", target)
        resp = conn.getresponse()
        body = resp.read(4096).decode("utf-8", "replace")
        return {"status": resp.status, "location": resp.getheader("Location"), "body": body}
    except (OSError, http.client.HTTPException) as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        conn.close()


def probe_tcp(addr, port, timeout):
    try:
        with socket.create_connection((addr, int(port)), timeout=timeout):
            return {"connected": True}
    except OSError as exc:
        return {"connected": False, "error": f"{type(exc).__name__}: {exc}"}


def probe_icmp(addr, timeout):
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as exc:
        return {"reply": False, "error": f"{type(exc).__name__}: {exc}"}
    echo = struct.pack("!BBHHH", 8, 0, 0, 0, 1) + b"lab-probe"  # kernel sets id, checksum
    with sock:
        try:
            sock.sendto(echo, (addr, 0))
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data, _ = sock.recvfrom(1024)
                if data[0] == 0:  # echo reply
                    return {"reply": True}
        except socket.timeout:
            return {"reply": False, "error": "timeout"}
        except OSError as exc:
            return {"reply": False, "error": f"{type(exc).__name__}: {exc}"}


# --- DHCP -----------------------------------------------------------------------
DHCP_MAGIC = b"\x63\x82\x53\x63"
DHCP_OPT_MSG_TYPE, DHCP_OPT_SERVER_ID, DHCP_OPT_END = 53, 54, 255
DHCPDISCOVER, DHCPOFFER = 1, 2
BOOTP_BROADCAST_FLAG = 0x8000  # ask for a broadcast reply: we have no address yet


def _iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def _dhcp_discover(mac, xid):
    zero_ip = b"\0" * 4
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0,
                        BOOTP_BROADCAST_FLAG, zero_ip, zero_ip, zero_ip, zero_ip,
                        mac, b"", b"")
    return bootp + DHCP_MAGIC + bytes([DHCP_OPT_MSG_TYPE, 1, DHCPDISCOVER, DHCP_OPT_END])


def _dhcp_options(data):
    options, offset = {}, 240
    while offset < len(data) and data[offset] != DHCP_OPT_END:
        if data[offset] == 0:
            offset += 1
            continue
        code, length = data[offset], data[offset + 1]
        options[code] = data[offset + 2:offset + 2 + length]
        offset += 2 + length
    return options


def probe_dhcp(iface, timeout):
    xid = random.getrandbits(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        sock.bind(("", 68))
        sock.sendto(_dhcp_discover(_iface_mac(iface), xid), ("255.255.255.255", 67))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                data, _ = sock.recvfrom(4096)
            except socket.timeout:
                break
            if len(data) < 240 or struct.unpack("!I", data[4:8])[0] != xid:
                continue
            options = _dhcp_options(data)
            if options.get(DHCP_OPT_MSG_TYPE) == bytes([DHCPOFFER]):
                server = options.get(DHCP_OPT_SERVER_ID)
                return {"offer": socket.inet_ntoa(data[16:20]),
                        "server": socket.inet_ntoa(server) if server else None}
    return {"offer": None}


# --- PPPoE discovery ------------------------------------------------------------
ETH_P_PPP_DISC = 0x8863
PPPOE_PADI, PPPOE_PADO = 0x09, 0x07
TAG_SERVICE_NAME, TAG_AC_NAME, TAG_HOST_UNIQ = 0x0101, 0x0102, 0x0103


def _pppoe_tags(payload):
    tags, offset = [], 0
    while offset + 4 <= len(payload):
        tag_type, length = struct.unpack("!HH", payload[offset:offset + 4])
        tags.append((tag_type, payload[offset + 4:offset + 4 + length]))
        offset += 4 + length
    return tags


def probe_padi(iface, timeout):
    host_uniq = random.getrandbits(32).to_bytes(4, "big")
    tags = (struct.pack("!HH", TAG_SERVICE_NAME, 0)  # empty Service-Name: any service
            + struct.pack("!HH", TAG_HOST_UNIQ, 4) + host_uniq)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_PPP_DISC)) as sock:
        sock.bind((iface, ETH_P_PPP_DISC))
        mac = sock.getsockname()[4]
        header = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_PPP_DISC)
        sock.send(header + struct.pack("!BBHH", 0x11, PPPOE_PADI, 0, len(tags)) + tags)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                frame = sock.recv(2048)
            except socket.timeout:
                break
            if len(frame) < 20 or frame[15] != PPPOE_PADO:
                continue
            length = struct.unpack("!H", frame[18:20])[0]
            found = _pppoe_tags(frame[20:20 + length])
            if (TAG_HOST_UNIQ, host_uniq) not in found:
                continue
            return {"pado": True, "ac_mac": frame[6:12].hex(":"),
                    "ac_name": next((v.decode() for t, v in found if t == TAG_AC_NAME), None),
                    "services": [v.decode() for t, v in found if t == TAG_SERVICE_NAME]}
    return {"pado": False}


def main(argv=None):
    parser = argparse.ArgumentParser(description="lab network probes")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("dns").add_argument("args", nargs=2, metavar=("SERVER", "NAME"))
    sub.add_parser("http").add_argument("args", nargs=1, metavar="URL")
    sub.add_parser("tcp").add_argument("args", nargs=2, metavar=("ADDR", "PORT"))
    sub.add_parser("icmp").add_argument("args", nargs=1, metavar="ADDR")
    sub.add_parser("dhcp").add_argument("args", nargs=1, metavar="IFACE")
    sub.add_parser("padi").add_argument("args", nargs=1, metavar="IFACE")
    ns = parser.parse_args(argv)
    probe = {"dns": probe_dns, "http": probe_http, "tcp": probe_tcp, "icmp": probe_icmp,
             "dhcp": probe_dhcp, "padi": probe_padi}[ns.probe]
    print(json.dumps(probe(*ns.args, ns.timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
