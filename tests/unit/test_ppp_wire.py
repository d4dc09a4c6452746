"""Every frame the PPPoE discovery and test login build, held to scapy's PPP layers byte for byte.

The product's codec (net/pppoe_discovery.py, net/ppp_frames.py, net/ppp_options.py) is written
with struct on purpose (ppp_frames' docstring says why); scapy is the independent referee here,
as it is in the lab's access concentrator (tests/lab/ppp_ac.py). And the other way: what scapy
builds, the product parses to the same values.
"""
from __future__ import annotations

import struct

import pytest
from scapy.layers import ppp as p
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from diagnose.net import ppp_frames as pf, ppp_options as po, pppoe_discovery as pd

CLIENT, AC = "02:aa:bb:cc:dd:01", "02:aa:bb:cc:dd:02"
CLIENT_RAW, AC_RAW = bytes.fromhex("02aabbccdd01"), bytes.fromhex("02aabbccdd02")
SESSION = 0x1234
UNIQ = bytes.fromhex("0102030405060708")


def discovery(code, tags, dst=AC, src=CLIENT, session=0):
    return bytes(Ether(dst=dst, src=src, type=pf.ETH_P_PPP_DISC)
                 / p.PPPoED(code=code, sessionid=session)
                 / p.PPPoED_Tags(tag_list=[p.PPPoETag(tag_type=t, tag_value=v) for t, v in tags])
                 ).ljust(pd.ETH_MIN_FRAME, b"\0")


def session(layer, proto, src=CLIENT, dst=AC):
    return bytes(Ether(dst=dst, src=src, type=pf.ETH_P_PPP_SES) / p.PPPoE(sessionid=SESSION)
                 / p.PPP(proto=proto) / layer).ljust(pd.ETH_MIN_FRAME, b"\0")


def ours(proto, payload):
    return pf.build_ppp(CLIENT_RAW, AC_RAW, SESSION, proto, payload)


@pytest.mark.parametrize("service", [b"", b"lab-internet"])
def test_padi(service):
    assert pd.build_padi(CLIENT_RAW, UNIQ, service) == discovery(
        0x09, [(0x0101, service), (0x0103, UNIQ)], dst="ff:ff:ff:ff:ff:ff")


@pytest.mark.parametrize("cookie,relay", [(None, None), (b"c" * 16, b"r" * 12)])
def test_padr(cookie, relay):
    tags = [(0x0101, b"lab-internet"), (0x0103, UNIQ)]
    tags += [(0x0104, cookie)] if cookie else []
    tags += [(0x0110, relay)] if relay else []
    assert pf.build_padr(CLIENT_RAW, AC_RAW, UNIQ, b"lab-internet", cookie, relay) == discovery(
        0x19, tags)


def test_padt():
    assert pf.build_padt(CLIENT_RAW, AC_RAW, SESSION, UNIQ) == discovery(
        0xA7, [(0x0103, UNIQ)], session=SESSION)


def test_lcp_configure_request_and_our_answers():
    magic = 0x1AB2C3D4
    request = pf.build_cp(pf.CONF_REQ, 1, pf.build_options(po.lcp_request(magic)))
    assert ours(pf.PROTO_LCP, request) == session(p.PPP_LCP_Configure(code=1, id=1, options=[
        p.PPP_LCP_MRU_Option(max_recv_unit=po.OUR_MRU),
        p.PPP_LCP_Magic_Number_Option(magic_number=magic)]), 0xC021)

    eap = [(pf.OPT_AUTH, b"\xc2\x27")]
    code, data, _ = po.lcp_answer(eap, magic)     # Nak: CHAP-MD5 instead
    assert ours(pf.PROTO_LCP, pf.build_cp(code, 7, data)) == session(p.PPP_LCP_Configure(
        code=3, id=7, options=[p.PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=5)]),
        0xC021)
    code, data, _ = po.lcp_answer([(2, bytes(4))], magic)   # Reject: ACCM
    assert ours(pf.PROTO_LCP, pf.build_cp(code, 8, data)) == session(p.PPP_LCP_Configure(
        code=4, id=8, options=[p.PPP_LCP_ACCM_Option(accm=0)]), 0xC021)


def test_lcp_link_packets():
    assert ours(pf.PROTO_LCP, pf.build_cp(pf.TERM_REQ, 3, b"bye")) == session(
        p.PPP_LCP_Terminate(code=5, id=3, data=b"bye"), 0xC021)
    assert ours(pf.PROTO_LCP, pf.build_cp(pf.TERM_ACK, 4)) == session(
        p.PPP_LCP_Terminate(code=6, id=4), 0xC021)
    echo = pf.build_cp(pf.ECHO_REPLY, 5, struct.pack("!I", 0x01020304) + b"ping")
    assert ours(pf.PROTO_LCP, echo) == session(
        p.PPP_LCP_Echo(code=10, id=5, magic_number=0x01020304, data=b"ping"), 0xC021)
    rejected = b"\x63\x01\x00\x04"
    assert ours(pf.PROTO_LCP, pf.build_cp(pf.CODE_REJ, 6, rejected)) == session(
        p.PPP_LCP_Code_Reject(code=7, id=6, rejected_packet=Raw(rejected)), 0xC021)
    ipv6cp = struct.pack("!H", 0x8057) + b"\x01\x01\x00\x04"
    assert ours(pf.PROTO_LCP, pf.build_cp(pf.PROTO_REJ, 7, ipv6cp)) == session(
        p.PPP_LCP_Protocol_Reject(code=8, id=7, rejected_protocol=0x8057,
                                  rejected_information=Raw(b"\x01\x01\x00\x04")), 0xC021)


def test_pap_and_chap():
    assert ours(pf.PROTO_PAP, pf.pap_request(9, b"user", b"secret")) == session(
        p.PPP_PAP_Request(code=1, id=9, username=b"user", password=b"secret"), 0xC023)
    digest = pf.chap_md5(10, b"secret", b"challenge")
    assert ours(pf.PROTO_CHAP, pf.chap_response(10, digest, b"user")) == session(
        p.PPP_CHAP_ChallengeResponse(code=2, id=10, value=digest, optional_name=b"user"), 0xC223)


def test_ipcp():
    want = po.ipcp_request()
    assert ours(pf.PROTO_IPCP, pf.build_cp(pf.CONF_REQ, 2, pf.build_options(want))) == session(
        p.PPP_IPCP(code=1, id=2, options=[p.PPP_IPCP_Option_IPAddress(data="0.0.0.0"),
                                          p.PPP_IPCP_Option_DNS1(data="0.0.0.0"),
                                          p.PPP_IPCP_Option_DNS2(data="0.0.0.0")]), 0x8021)
    nak = [(pf.OPT_IP, bytes([10, 67, 0, 2])), (pf.OPT_DNS1, bytes([198, 51, 100, 53]))]
    want = po.ipcp_adjust(want, pf.CONF_NAK, nak)
    assert ours(pf.PROTO_IPCP, pf.build_cp(pf.CONF_REQ, 3, pf.build_options(want))) == session(
        p.PPP_IPCP(code=1, id=3, options=[p.PPP_IPCP_Option_IPAddress(data="10.67.0.2"),
                                          p.PPP_IPCP_Option_DNS1(data="198.51.100.53"),
                                          p.PPP_IPCP_Option_DNS2(data="0.0.0.0")]), 0x8021)
    code, data, _ = po.ipcp_answer([(pf.OPT_IP, bytes([10, 67, 0, 1])), (2, b"\x00\x2d\x0f\x01")])
    assert ours(pf.PROTO_IPCP, pf.build_cp(code, 4, data)) == session(p.PPP_IPCP(
        code=4, id=4, options=[p.PPP_IPCP_Option(type=2, data=b"\x00\x2d\x0f\x01")]), 0x8021)


def test_what_scapy_builds_parses_to_the_same_values():
    pado = discovery(0x07, [(0x0102, b"BRAS"), (0x0101, b"lab-internet"), (0x0104, b"c" * 8),
                            (0x0103, UNIQ)], dst=CLIENT, src=AC)
    info = pd.parse_pado(pado, UNIQ)
    assert (info["name"], info["services"], info["cookie"]) == ("BRAS", ["lab-internet"], b"c" * 8)
    pads = discovery(0x65, [(0x0103, UNIQ), (0x0202, b"full")], dst=CLIENT, src=AC,
                     session=SESSION)
    assert pf.parse_pads(pads, UNIQ, AC_RAW) == {
        "session": SESSION, "errors": [{"tag": "AC-System-Error", "message": "full"}],
        "service": ""}
    challenge = session(p.PPP_CHAP_ChallengeResponse(code=1, id=3, value=b"x" * 16,
                                                     optional_name=b"BRAS"), 0xC223, AC, CLIENT)
    proto, payload = pf.parse_ppp(challenge, AC_RAW, SESSION)
    code, ident, data = pf.parse_cp(payload)
    assert (proto, code, ident, pf.parse_chap_challenge(data)) == (
        pf.PROTO_CHAP, 1, 3, (b"x" * 16, "BRAS"))
    request = session(p.PPP_LCP_Configure(code=1, id=1, options=[
        p.PPP_LCP_MRU_Option(max_recv_unit=1480),
        p.PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023)]), 0xC021, AC, CLIENT)
    _, payload = pf.parse_ppp(request, AC_RAW, SESSION)
    options = pf.parse_options(pf.parse_cp(payload)[2])
    assert po.lcp_answer(options, 1) == (pf.CONF_ACK, pf.build_options(options),
                                         {"mru": 1480, "auth": "pap"})
