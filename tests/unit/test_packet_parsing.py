"""Pure parsers of the packet probes: PADO (PPPoE) and DHCPOFFER.

Frames are built by hand with struct so the tests do not depend on scapy's
dissectors; the two frame builders (which use scapy) are checked the same
way. No network is touched.
"""
from __future__ import annotations

import socket
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.net import dhcp_probe, pppoe_discovery
from diagnose.net.dhcp_probe import parse_offer
from diagnose.net.pppoe_discovery import parse_pado
from tests.properties import examples

CLIENT_MAC = bytes.fromhex("02aabbccdd01")
AC_MAC = bytes.fromhex("02aabbccdd02")
HOST_UNIQ = bytes.fromhex("0102030405060708")
XID = 0x12345678


# ------------------------------------------------------------ PADO frames

def tag(tag_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", tag_type, len(value)) + value


def pado_frame(
    tags: bytes | None = None,
    *,
    src: bytes = AC_MAC,
    dst: bytes = CLIENT_MAC,
    ethertype: int = 0x8863,
    ver_type: int = 0x11,
    code: int = 0x07,
    session: int = 0,
    length: int | None = None,
    pad_to: int = 60,
) -> bytes:
    if tags is None:
        tags = (
            tag(0x0101, b"lab-internet")
            + tag(0x0102, b"LAB-BRAS")
            + tag(0x0104, b"\x99" * 16)
            + tag(0x0103, HOST_UNIQ)
        )
    hdr = struct.pack("!BBHH", ver_type, code, session, len(tags) if length is None else length)
    frame = dst + src + struct.pack("!H", ethertype) + hdr + tags
    return frame.ljust(pad_to, b"\x00")


def test_valid_pado():
    info = parse_pado(pado_frame(), HOST_UNIQ)
    assert info == {
        "ac_mac": "02:aa:bb:cc:dd:02",
        "dst_mac": "02:aa:bb:cc:dd:01",
        "name": "LAB-BRAS",
        "services": ["lab-internet"],
        "has_cookie": True,
        "host_uniq": HOST_UNIQ,
        "cookie": b"\x99" * 16,     # echoed in our PADR (RFC 2516 5.3)
        "relay_id": None,
        "errors": [],
    }


def test_pado_relay_id_and_error_tags():
    tags = (tag(0x0102, b"BRAS-3") + tag(0x0103, HOST_UNIQ) + tag(0x0110, b"relay-7")
            + tag(0x0202, b"busy\x00\x1b[31m") + tag(0x0201, b""))
    info = parse_pado(pado_frame(tags, pad_to=120), HOST_UNIQ)
    assert info["relay_id"] == b"relay-7" and info["cookie"] is None
    assert info["has_cookie"] is False
    assert info["errors"] == [{"tag": "AC-System-Error", "message": "busy\ufffd\ufffd[31m"},
                              {"tag": "Service-Name-Error", "message": ""}]


def test_pado_oversized_cookie_is_not_echoed():
    tags = tag(0x0103, HOST_UNIQ) + tag(0x0104, b"c" * (pppoe_discovery.MAX_ECHOED + 1))
    info = parse_pado(pado_frame(tags, pad_to=200), HOST_UNIQ)
    assert info["has_cookie"] is True and info["cookie"] is None


def test_pado_matches_any_of_our_host_uniqs():
    others = {b"x" * 8, HOST_UNIQ}
    assert parse_pado(pado_frame(), others)["host_uniq"] == HOST_UNIQ


def test_pado_without_cookie_and_several_services():
    tags = (
        tag(0x0102, b"BRAS-2") + tag(0x0101, b"") + tag(0x0101, b"video")
        + tag(0x0101, b"video") + tag(0x0103, HOST_UNIQ)
    )
    info = parse_pado(pado_frame(tags), HOST_UNIQ)
    assert info["has_cookie"] is False
    assert info["services"] == ["", "video"]  # "" = any service; duplicates folded


def test_pado_stops_at_end_of_list_and_ignores_padding():
    tags = tag(0x0102, b"AC") + tag(0x0103, HOST_UNIQ) + tag(0x0000, b"") + b"\xff\xff\xff"
    info = parse_pado(pado_frame(tags, pad_to=200), HOST_UNIQ)
    assert info["name"] == "AC"


def test_pado_without_ac_name_still_counts():
    info = parse_pado(pado_frame(tag(0x0103, HOST_UNIQ)), HOST_UNIQ)
    assert info["name"] == "" and info["services"] == []


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(pado_frame(tag(0x0102, b"AC") + tag(0x0103, b"otheruniq")), id="other-host-uniq"),
        pytest.param(pado_frame(tag(0x0102, b"AC")), id="no-host-uniq"),
        pytest.param(pado_frame(code=0x09), id="padi"),
        pytest.param(pado_frame(code=0x65), id="pads"),
        pytest.param(pado_frame(session=0x0001), id="session-not-0"),
        pytest.param(pado_frame(ver_type=0x21), id="bad-ver-type"),
        pytest.param(pado_frame(ethertype=0x8864), id="session-ethertype"),
        pytest.param(pado_frame(ethertype=0x0800), id="ipv4-ethertype"),
        pytest.param(pado_frame(src=b"\xff" * 6), id="broadcast-src"),
        pytest.param(pado_frame(src=b"\x01\x00\x5e\x00\x00\x01"), id="multicast-src"),
        pytest.param(pado_frame(src=b"\x00" * 6), id="zero-src"),
        pytest.param(pado_frame(length=500), id="length-past-frame"),
        pytest.param(pado_frame(tag(0x0103, HOST_UNIQ) + struct.pack("!HH", 0x0102, 40) + b"short"), id="tag-past-payload"),
        pytest.param(pado_frame(tag(0x0103, HOST_UNIQ) + b"\x01"), id="stray-byte"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00" * 13, id="13-zero-bytes"),
        pytest.param(b"\xff" * 2000, id="2000-ff-bytes"),
    ],
)
def test_pado_rejected(frame):
    assert parse_pado(frame, HOST_UNIQ) is None


def test_pado_every_truncation_rejected():
    frame = pado_frame(pad_to=0)
    for cut in range(len(frame)):
        assert parse_pado(frame[:cut], HOST_UNIQ) is None, cut
    assert parse_pado(frame, HOST_UNIQ) is not None


def test_pado_strings_are_capped_and_sanitised():
    tags = (
        tag(0x0102, b"A" * 5000)
        + tag(0x0101, b"\xff\xfe bad utf8")
        + tag(0x0101, b"\x1b[31mred\x1b[0m\x9b")
        + tag(0x0103, HOST_UNIQ)
    )
    info = parse_pado(pado_frame(tags), HOST_UNIQ)
    assert info["name"] == "A" * pppoe_discovery.MAX_TEXT
    assert info["services"][0] == "\ufffd\ufffd bad utf8"
    assert "\x1b" not in info["services"][1] and "red" in info["services"][1]


def test_pado_service_count_capped():
    tags = b"".join(tag(0x0101, b"s%d" % i) for i in range(100)) + tag(0x0103, HOST_UNIQ)
    info = parse_pado(pado_frame(tags), HOST_UNIQ)
    assert len(info["services"]) == pppoe_discovery.MAX_SERVICES


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1600))
def test_pado_random_bytes_never_raise(data):
    assert parse_pado(data, HOST_UNIQ) is None  # 8 random bytes never match by chance here


@settings(max_examples=examples(300))
@given(st.binary(max_size=300))
def test_pado_random_tags_never_raise(tags):
    # A valid header followed by garbage reaches the tag parser.
    frame = CLIENT_MAC + AC_MAC + struct.pack("!HBBHH", 0x8863, 0x11, 0x07, 0, len(tags)) + tags
    info = parse_pado(frame, HOST_UNIQ)
    assert info is None or info["host_uniq"] == HOST_UNIQ


@settings(max_examples=examples(300))
@given(st.data())
def test_pado_mutations_never_raise(data):
    frame = bytearray(pado_frame())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(frame) - 1))
        frame[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    info = parse_pado(bytes(frame[:cut]), HOST_UNIQ)
    assert info is None or isinstance(info["name"], str)


def test_build_padi():
    frame = pppoe_discovery.build_padi(CLIENT_MAC, HOST_UNIQ, b"lab-internet")
    assert len(frame) >= 60
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == CLIENT_MAC
    ethertype, ver_type, code, session, length = struct.unpack_from("!HBBHH", frame, 12)
    assert (ethertype, ver_type, code, session) == (0x8863, 0x11, 0x09, 0)
    tags = pppoe_discovery.parse_tags(frame[20 : 20 + length])
    assert tags == [(0x0101, b"lab-internet"), (0x0103, HOST_UNIQ)]


def test_plan_windows_backoff_and_budget():
    assert pppoe_discovery.plan_windows(1.0, 3, 10.0) == [1.0, 1.5, 2.25]
    fitted = pppoe_discovery.plan_windows(1.0, 3, 3.0)
    assert sum(fitted) == pytest.approx(3.0)
    assert fitted[0] < fitted[1] < fitted[2]


# ------------------------------------------------------------ DHCP frames

def dhcp_options(*opts: tuple[int, bytes], end: bool = True) -> bytes:
    out = b"".join(bytes([code, len(value)]) + value for code, value in opts)
    return out + (b"\xff" if end else b"")


def offer_frame(
    options: bytes | None = None,
    *,
    xid: int = XID,
    chaddr: bytes = CLIENT_MAC,
    op: int = 2,
    yiaddr: str = "10.77.0.120",
    ip_src: str = "10.77.0.1",
    sport: int = 67,
    dport: int = 68,
    frag: int = 0,
    sname: bytes = b"",
    file: bytes = b"",
    total_len_delta: int = 0,
    pad_to: int = 0,
) -> bytes:
    if options is None:
        options = dhcp_options((53, b"\x02"), (54, socket.inet_aton("10.77.0.1")), (51, b"\x00\x00\x0e\x10"))
    bootp = struct.pack("!BBBBIHH", op, 1, 6, 0, xid, 0, 0x8000)
    bootp += b"\x00" * 4 + socket.inet_aton(yiaddr) + socket.inet_aton(ip_src) + b"\x00" * 4
    bootp += chaddr.ljust(16, b"\x00") + sname.ljust(64, b"\x00") + file.ljust(128, b"\x00")
    bootp += b"\x63\x82\x53\x63" + options
    udp = struct.pack("!HHHH", sport, dport, 8 + len(bootp), 0) + bootp
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + total_len_delta, 1, frag, 64, 17, 0,
        socket.inet_aton(ip_src), socket.inet_aton("255.255.255.255"),
    )
    frame = b"\xff" * 6 + bytes.fromhex("02aabbccdd03") + b"\x08\x00" + ip + udp
    return frame.ljust(pad_to, b"\x00")


def test_offer_with_server_id():
    info = parse_offer(offer_frame(ip_src="10.77.0.254"), XID, CLIENT_MAC)
    assert info["server"] == "10.77.0.1"  # option 54 wins over the IP source
    assert info["server_id"] == "10.77.0.1"
    assert info["ip_src"] == "10.77.0.254"
    assert info["offered"] == "10.77.0.120"


def test_offer_without_server_id_uses_ip_source():
    info = parse_offer(offer_frame(dhcp_options((53, b"\x02")), ip_src="192.168.1.1"), XID, CLIENT_MAC)
    assert info["server"] == "192.168.1.1" and info["server_id"] is None


def test_offer_with_padding_and_pad_options():
    opts = b"\x00\x00" + dhcp_options((53, b"\x02"), (54, socket.inet_aton("10.0.0.9")))
    info = parse_offer(offer_frame(opts, pad_to=1000), XID, CLIENT_MAC)
    assert info["server"] == "10.0.0.9"


def test_offer_option_overload_file_field():
    file_opts = dhcp_options((54, socket.inet_aton("10.0.0.7")))
    info = parse_offer(offer_frame(dhcp_options((53, b"\x02"), (52, b"\x01")), file=file_opts), XID, CLIENT_MAC)
    assert info["server"] == "10.0.0.7"


def test_offer_server_id_of_wrong_length_ignored():
    opts = dhcp_options((53, b"\x02"), (54, b"\x0a\x00"))
    assert parse_offer(offer_frame(opts, ip_src="10.1.1.1"), XID, CLIENT_MAC)["server"] == "10.1.1.1"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(offer_frame(xid=XID + 1), id="wrong-xid"),
        pytest.param(offer_frame(chaddr=bytes.fromhex("02aabbccddff")), id="wrong-chaddr"),
        pytest.param(offer_frame(dhcp_options((53, b"\x05"), (54, b"\x0a\x00\x00\x01"))), id="ack"),
        pytest.param(offer_frame(dhcp_options((53, b"\x06"))), id="nak"),
        pytest.param(offer_frame(dhcp_options((54, b"\x0a\x00\x00\x01"))), id="no-message-type"),
        pytest.param(offer_frame(op=1), id="bootrequest"),
        pytest.param(offer_frame(sport=68, dport=67), id="client-to-server"),
        pytest.param(offer_frame(sport=53), id="not-from-port-67"),
        pytest.param(offer_frame(frag=0x2000), id="more-fragments"),
        pytest.param(offer_frame(frag=0x0010), id="fragment-offset"),
        pytest.param(offer_frame(total_len_delta=+40), id="ip-length-past-frame"),
        pytest.param(offer_frame(total_len_delta=-20), id="udp-length-past-ip"),
        pytest.param(offer_frame(dhcp_options((53, b"\x02"), end=False) + b"\x36\x10\x0a"), id="option-past-end"),
        pytest.param(offer_frame(b"\x35"), id="option-without-length"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff" * 20, id="20-ff-bytes"),
        pytest.param(b"\x00" * 400, id="400-zero-bytes"),
    ],
)
def test_offer_rejected(frame):
    assert parse_offer(frame, XID, CLIENT_MAC) is None


def test_offer_every_truncation_rejected():
    frame = offer_frame()
    for cut in range(len(frame)):
        assert parse_offer(frame[:cut], XID, CLIENT_MAC) is None, cut
    assert parse_offer(frame, XID, CLIENT_MAC) is not None


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1600))
def test_offer_random_bytes_never_raise(data):
    assert parse_offer(data, XID, CLIENT_MAC) is None


@settings(max_examples=examples(300))
@given(st.binary(max_size=400))
def test_offer_random_options_never_raise(options):
    info = parse_offer(offer_frame(options), XID, CLIENT_MAC)
    assert info is None or info["offered"] == "10.77.0.120"


@settings(max_examples=examples(300))
@given(st.data())
def test_offer_mutations_never_raise(data):
    frame = bytearray(offer_frame())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(frame) - 1))
        frame[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    info = parse_offer(bytes(frame[:cut]), XID, CLIENT_MAC)
    assert info is None or isinstance(info["server"], str)


def test_build_discover_is_a_discover_and_nothing_more():
    frame = dhcp_probe.build_discover(CLIENT_MAC, XID)
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == CLIENT_MAC
    assert frame[12:14] == b"\x08\x00"
    ihl = (frame[14] & 0x0F) * 4
    assert frame[26:30] == b"\x00" * 4 and frame[30:34] == b"\xff" * 4
    assert frame[23] == 17
    sport, dport, udp_len = struct.unpack_from("!HHH", frame, 14 + ihl)
    assert (sport, dport) == (68, 67)
    bootp = frame[14 + ihl + 8 :]
    assert len(bootp) >= 300
    op, _, _, _, xid, _, flags = struct.unpack_from("!BBBBIHH", bootp)
    assert (op, xid, flags) == (1, XID, 0x8000)
    assert bootp[28:34] == CLIENT_MAC
    opts: dict[int, bytes] = {}
    assert dhcp_probe.parse_options(bootp[240:], opts)
    assert opts[53] == b"\x01"  # DHCPDISCOVER
    assert 50 not in opts and 54 not in opts  # nothing that would look like a REQUEST


# ------------------------------------------------------------ module hygiene

def test_importing_the_probes_does_not_import_scapy():
    # nor does building a PADI: scapy is for the packet socket only (pppoe_discovery's docstring)
    code = (
        "import sys, diagnose.net.pppoe_discovery as d, diagnose.net.dhcp_probe\n"
        "import diagnose.net.ppp_session\n"
        "d.build_padi(b'\\x02' * 6, b'u' * 8, b'lab-internet')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scapy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("iface", ["bdp-no-such-if", "", "x" * 40, "a/b", "nul\x00", None, 7])
def test_bad_interface_is_an_error_not_an_exception(iface):
    # The name is rejected (ioctl) before any raw socket is opened: no traffic.
    r = pppoe_discovery.discover(iface, timeout=0.2, attempts=1)
    assert r["outcome"] == "error" and r["attempts"] == 0 and r["error"]
    r = dhcp_probe.discover(iface, "02:aa:bb:cc:dd:01", timeout=0.2)
    assert r["outcome"] == "error" and r["error"] and r["server"] is None


@pytest.mark.parametrize("mac", ["", "zz:zz:zz:zz:zz:zz", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", None, "02:aa"])
def test_dhcp_bad_mac_is_an_error(mac):
    r = dhcp_probe.discover("lo", mac, timeout=0.2)
    assert r["outcome"] == "error" and "mac" in r["error"]


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"timeout": 0}, {"budget": -1}, {"service_name": "s" * 300}])
def test_pppoe_bad_arguments_are_errors(kwargs):
    r = pppoe_discovery.discover("lo", **kwargs)
    assert r["outcome"] == "error" and r["attempts"] == 0


def test_parse_mac():
    assert pppoe_discovery.parse_mac("02-AA-bb-cc-dd-1") == bytes.fromhex("02aabbccdd01")
    for bad in ("", "02:aa:bb:cc:dd", "02:aa:bb:cc:dd:ee:ff", " 2:aa:bb:cc:dd:ee", "0x:aa:bb:cc:dd:ee", None):
        assert pppoe_discovery.parse_mac(bad) is None
