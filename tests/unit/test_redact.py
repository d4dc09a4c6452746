"""The redaction pass: nothing that identifies the subscriber leaves the machine."""
from __future__ import annotations

import copy
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import redact as redact_module
from diagnose.redact import redact
from tests.properties import examples
from tests.schema import SCHEMA, validate

HOST = "zhangwei-thinkpad"
LOGIN = "zhangwei"
PPPOE_USER = "07551234567@163.gd"
PASSWORD = "Pa55w0rd!x"
TOKEN = "tok_9f8e7d6c5b4a3210"
WAN_IP = "58.62.111.23"
WAN_IP6 = "240e:3b4:1234:5678::1"
PORTAL_IP = "116.7.233.45"
OTHER_PUBLIC = "8.8.4.4"
PC_MAC = "3c:52:82:a1:b2:c3"        # HP
ACS_MAC = "00:e0:fc:12:34:56"       # Huawei BRAS
ROUTER_MAC = "c8:3a:35:de:ad:01"    # Tenda
PC_LINK_LOCAL = "fe80::3e52:82ff:fea1:b2c3"   # EUI-64 of PC_MAC
PROFILE_KEEP = ["223.5.5.5", "119.29.29.29", "1.1.1.1"]

CANARIES = [HOST, LOGIN, PPPOE_USER, "07551234567", PASSWORD, TOKEN, WAN_IP, WAN_IP6,
            PORTAL_IP, OTHER_PUBLIC, "a1:b2:c3", "A1-B2-C3", "12:34:56", "de-ad-01",
            "3e52:82ff:fea1:b2c3", "Win7Ik3", "bob:"]


def report() -> dict:
    """A realistic report (docs/report.schema.json) with a canary in every kind of place."""
    rep = _report()
    if "digest" in SCHEMA["properties"]:
        rep["digest"] = "7K3M-2Q9X"
    return rep


def _report() -> dict:
    return {
        "schema_version": 1,
        "id": "0f8e3c52-82a1-4b2c-9d3e-3c5282a1b2c3",
        "tool": {"name": "diagnose", "version": "0.1.0"},
        "started_at": "2024-05-01T10:20:30.123Z",
        "duration_ms": 4210,
        "privileged": True,
        "lang": "en",
        "profile": "default-cn",
        "interrupted": False,
        "checks": [
            {"id": "route", "status": "ok", "duration_ms": 3, "reason": None,
             "facts": {"default_routes": [{"family": 4, "device": "ppp0", "gateway": "0.0.0.0",
                                           "metric": 0},
                                          {"family": 6, "device": "ppp0", "gateway": "::",
                                           "metric": 1024}],
                       "has_default": True, "gateway": "0.0.0.0", "device": "ppp0",
                       "has_ipv6_default": True}},
            {"id": "interfaces", "status": "ok", "duration_ms": 5, "reason": None,
             "facts": {"interfaces": [
                 {"name": "enp3s0", "kind": "ethernet", "admin_up": True, "carrier": True,
                  "operstate": "up", "mtu": 1500, "speed_mbps": 1000, "mac": PC_MAC,
                  "default_route": False},
                 {"name": "ppp0", "kind": "ppp", "admin_up": True, "carrier": None,
                  "operstate": "unknown", "mtu": 1492, "speed_mbps": None, "mac": None,
                  "default_route": True},
                 {"name": "docker0", "kind": "virtual", "admin_up": True, "carrier": False,
                  "operstate": "down", "mtu": 1500, "speed_mbps": None,
                  "mac": "02:42:ac:11:00:02", "default_route": False}],
                 "primary": "ppp0", "primary_kind": "ppp", "primary_admin_up": True,
                 "primary_carrier": None, "primary_mac": PC_MAC.upper(), "physical_count": 1}},
            {"id": "addressing", "status": "ok", "duration_ms": 12, "reason": None,
             "facts": {"interface": "ppp0",
                       "ipv4": [{"address": WAN_IP, "prefixlen": 32}],
                       "ipv6": [{"address": WAN_IP6, "scope": "global"},
                                {"address": PC_LINK_LOCAL, "scope": "link"}],
                       "has_ipv4": True, "apipa": False, "has_ipv6_global": True,
                       "dhcp_probe": {"outcome": "not_run", "reason": "not needed"}}},
            {"id": "gateway", "status": "problem", "duration_ms": 1003,
             "reason": f"gateway {PORTAL_IP} does not answer (from {WAN_IP} on {HOST})",
             "facts": {"address": PORTAL_IP,
                       "icmp": {"answered": False, "method": "ping", "sent": 1, "received": 0,
                                "rtt_ms": None,
                                "error": f"ping: sendmsg from {WAN_IP}: {LOGIN} not permitted"},
                       "tcp": [{"port": 53, "outcome": "timeout", "ms": 1000.2}],
                       "answers_ping": False, "answers_tcp": False, "reachable": False,
                       "neighbour": {"state": "resolved", "mac": ROUTER_MAC.replace(":", "-"),
                                     "device": "enp3s0"}}},
            {"id": "dns", "status": "ok", "duration_ms": 230, "reason": None,
             "facts": {"configured": ["127.0.0.53"], "configured_source": "resolvectl",
                       "configured_error": None, "gateway": PORTAL_IP,
                       "gateway_is_configured": False, "public": PROFILE_KEEP,
                       "queries": [{"server": "223.5.5.5", "name": "www.baidu.com",
                                    "outcome": "answer", "rcode": 0, "latency_ms": 12.5,
                                    "answers": ["110.242.68.66", "110.242.68.3"]},
                                   {"server": OTHER_PUBLIC, "name": "www.qq.com",
                                    "outcome": "timeout", "rcode": None, "latency_ms": None,
                                    "answers": []}],
                       "configured_works": True, "gateway_works": False, "public_works": True,
                       # a fact keyed by address: keys carry values too
                       "latency_by_server": {WAN_IP: 3.2, "223.5.5.5": 12.5, "10.0.0.1": 1.0}}},
            {"id": "internet", "status": "problem", "duration_ms": 2100,
             "reason": "no connectivity URL answered 204 (portal)",
             "facts": {"urls": [{"url": "http://connect.rom.miui.com/generate_204",
                                 "outcome": "portal", "status_code": 302,
                                 "location": f"http://{PORTAL_IP}/auth?user={PPPOE_USER}"
                                             f"&token={TOKEN}&mac={PC_MAC}",
                                 "address": "120.92.1.1", "ms": 45.1}],
                       "online": False, "portal": True,
                       "portal_location": f"https://bob:Win7Ik3@{PORTAL_IP}:8443/login?t={TOKEN}",
                       "name_resolution_failed": False,
                       "targets": [{"address": "1.1.1.1", "icmp": {"answered": True},
                                    "tcp": [], "answers_ping": True, "answers_tcp": False,
                                    "reachable": True}],
                       "any_target_reachable": True}},
            {"id": "proxy", "status": "ok", "duration_ms": 1, "reason": None,
             "facts": {"proxies": [{"variables": ["HTTPS_PROXY"], "scheme": "http",
                                    "host": "192.168.1.2", "port": 3128, "connect": "open",
                                    "accepts": True}],
                       "any_configured": True, "any_refusing": False}},
            {"id": "pppoe", "status": "ok", "duration_ms": 900, "reason": None,
             "facts": {"is_dialer": True,
                       "peers": [{"file": "dsl-provider", "method": "plugin",
                                  "interface": "enp3s0"}],
                       "networkmanager": [{"file": f"{PPPOE_USER}.nmconnection",
                                           "interface": "enp3s0"}],
                       "ppp_interfaces": ["ppp0"], "processes": ["pppd"], "session_up": True,
                       "discovery": {"outcome": "pado",
                                     "acs": [{"name": "GZ-TH-BRAS-ME60-1", "mac": ACS_MAC,
                                              "services": [""], "latency_ms": 4.2}]},
                       "access_concentrator": "GZ-TH-BRAS-ME60-1",
                       "log": [f"/home/{LOGIN}/.ppp: user \"{PPPOE_USER}\" password "
                               f"\"x{PASSWORD}y\"",
                               {"nested": [[f"sent [PAP AuthReq id=0x1 user=\"{PPPOE_USER}\" "
                                            f"password=<hidden>] {HOST}.lan"]]}]}},
        ],
        "findings": [
            {"rule": "captive-portal", "code": "A23", "side": "account", "severity": "fault",
             "title": f"The operator redirects {HOST} to a login page at {PORTAL_IP}",
             "advice": [f"Open http://{PORTAL_IP}/ and sign in as {PPPOE_USER}",
                        f"Your adapter {PC_MAC} got {WAN_IP}",
                        f"Windows shows it as {PC_MAC.upper().replace(':', '-')}"],
             "evidence": {"internet.portal_location":
                          f"https://bob:Win7Ik3@{PORTAL_IP}:8443/login?t={TOKEN}",
                          "addressing.ipv4": [{"address": WAN_IP, "prefixlen": 32}],
                          f"dns.latency_by_server.{WAN_IP}": 3.2},
             "consequence_of": None},
        ],
        "verdict": {"side": "account", "code": "A23", "rule": "captive-portal",
                    "title": f"Sign in at the operator's page ({PORTAL_IP})",
                    "advice": [f"Call the hotline; give your account {PPPOE_USER}",
                               f"Mention the line card {ACS_MAC.upper()} and password? never:"
                               f" {PASSWORD}"],
                    "ticket": False, "confidence": "high",
                    "evidence": {"pppoe.discovery.acs": [{"mac": ACS_MAC}],
                                 "interfaces.primary_mac": PC_MAC.upper()}},
    }


def redacted(**overrides) -> dict:
    options = {"secrets": [PASSWORD, TOKEN], "hostname": HOST, "username": LOGIN,
               "pppoe_users": [PPPOE_USER], "keep": PROFILE_KEEP}
    options.update(overrides)
    return redact(report(), **options)


def dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def strings(value):
    """Every string in a tree, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def facts(rep: dict, check: str) -> dict:
    return next(c["facts"] for c in rep["checks"] if c["id"] == check)


# -- the whole report -----------------------------------------------------------------------------

def test_every_canary_is_planted():
    text = dump(report())
    for canary in CANARIES:
        assert canary.lower() in text.lower(), canary


def test_no_canary_survives_anywhere():
    text = dump(redacted())
    for canary in CANARIES:
        assert canary.lower() not in text.lower(), canary


def test_redacted_report_still_follows_the_schema():
    validate(report())
    validate(redacted())


def test_report_skeleton_is_untouched():
    original, result = report(), redacted()
    for key in ("schema_version", "id", "tool", "started_at", "duration_ms", "privileged",
                "lang", "profile", "interrupted", "digest"):
        assert result.get(key) == original.get(key)
    assert [c["id"] for c in result["checks"]] == [c["id"] for c in original["checks"]]
    assert result["verdict"]["side"] == "account" and result["verdict"]["code"] == "A23"


def test_expected_placeholders_in_place():
    result = redacted()
    assert facts(result, "addressing")["ipv4"][0]["address"] == "<public-ip-1>"
    assert facts(result, "interfaces")["interfaces"][0]["mac"] == "3c:52:82:<mac-1>"
    assert facts(result, "interfaces")["primary_mac"] == "3C:52:82:<mac-1>"
    assert facts(result, "interfaces")["interfaces"][2]["mac"].startswith("<local-mac-")
    assert facts(result, "addressing")["ipv6"][1]["address"] == "fe80::<eui64-mac-1>"
    assert facts(result, "gateway")["neighbour"]["mac"].startswith("c8-3a-35-<mac-")
    assert facts(result, "pppoe")["discovery"]["acs"][0]["mac"].startswith("00:e0:fc:<mac-")
    assert facts(result, "internet")["portal_location"] == \
        "https://<credentials>@<public-ip-3>:8443/login?t=<secret>"
    assert "<public-ip-1>" in facts(result, "dns")["latency_by_server"]
    assert result["findings"][0]["title"] == \
        "The operator redirects <hostname-1> to a login page at <public-ip-3>"
    assert "dns.latency_by_server.<public-ip-1>" in result["findings"][0]["evidence"]
    assert result["verdict"]["advice"][0] == "Call the hotline; give your account 075<pppoe-user-1>gd"


def test_input_is_not_modified_and_shares_nothing():
    original = report()
    pristine = copy.deepcopy(original)
    result = redact(original, secrets=[PASSWORD], hostname=HOST, username=LOGIN)
    assert original == pristine
    result["checks"][0]["facts"]["default_routes"].append("x")
    result["verdict"]["evidence"]["new"] = 1
    result["findings"][0]["advice"].clear()
    assert original == pristine


def test_nothing_to_redact_gives_an_equal_copy():
    clean = {"checks": [{"facts": {"gateway": "192.168.1.1", "ok": [1, 2.5, None, True]}}]}
    result = redact(clean, hostname="", username="")
    assert result == clean and result is not clean
    assert result["checks"][0]["facts"] is not clean["checks"][0]["facts"]


# -- MAC addresses ----------------------------------------------------------------------------------

@pytest.mark.parametrize("written, expected", [
    ("3c:52:82:a1:b2:c3", "3c:52:82:<mac-1>"),
    ("3C:52:82:A1:B2:C3", "3C:52:82:<mac-1>"),
    ("3c-52-82-a1-b2-c3", "3c-52-82-<mac-1>"),
    ("mac=3c:52:82:a1:b2:c3.", "mac=3c:52:82:<mac-1>."),
    ("(3c:52:82:a1:b2:c3):", "(3c:52:82:<mac-1>):"),
])
def test_mac_keeps_the_vendor_part(written, expected):
    assert redact(written, hostname="", username="") == expected


def test_same_mac_in_any_spelling_gets_one_number():
    result = redact(["3c:52:82:a1:b2:c3", "3C-52-82-A1-B2-C3", "00:e0:fc:12:34:56",
                     "3c:52:82:a1:b2:c3"], hostname="", username="")
    assert result == ["3c:52:82:<mac-1>", "3C-52-82-<mac-1>", "00:e0:fc:<mac-2>",
                      "3c:52:82:<mac-1>"]


def test_zero_broadcast_and_kept_macs_stay():
    text = "00:00:00:00:00:00 ff:ff:ff:ff:ff:ff FF-FF-FF-FF-FF-FF 00:e0:fc:12:34:56"
    assert redact(text, hostname="", username="", keep=["00-E0-FC-12-34-56"]) == text


def test_locally_administered_mac_keeps_nothing():
    assert redact("02:42:ac:11:00:02 and da:a1:19:00:11:22", hostname="", username="") == \
        "<local-mac-1> and <local-mac-2>"


def test_not_a_mac():
    for text in ("10:20:30", "2024-05-01T10:20:30.123Z", "3c:52:82:a1:b2", "3c:52:82-a1:b2:c3",
                 "0f8e3c52-82a1-4b2c-9d3e-3c5282a1b2c3", "aa:bb:cc:dd:ee:ff:00"):
        assert redact(text, hostname="", username="") == text


def test_eui64_address_is_tied_to_its_mac():
    result = redact(f"{PC_MAC} {PC_LINK_LOCAL}%enp3s0 fd00:1:2:3:3e52:82ff:fea1:b2c3 "
                    "fe80::1c2d:3e4f:5a6b:7c8d", hostname="", username="")
    assert result == ("3c:52:82:<mac-1> fe80::<eui64-mac-1>%enp3s0 fd00:1:2:3::<eui64-mac-1> "
                      "fe80::1c2d:3e4f:5a6b:7c8d")


# -- IP addresses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "192.168.1.1", "10.0.0.138", "172.16.5.4", "127.0.0.1", "169.254.10.20",
    "100.64.3.4", "100.127.255.254",                # CGNAT: tells support about carrier NAT
    "192.0.2.1", "198.51.100.7", "203.0.113.9",     # TEST-NET
    "0.0.0.0", "255.255.255.255", "224.0.0.251", "239.255.255.250",
    "::1", "::", "fe80::1", "fd12:3456:789a::1", "2001:db8::1", "ff02::1:2", "ff0e::1",
])
def test_non_public_addresses_are_kept(address):
    for text in (address, f"via {address}.", f"[{address}]:53", f"{address}/24"):
        assert redact(text, hostname="", username="") == text


@pytest.mark.parametrize("text, expected", [
    ("8.8.8.8", "<public-ip-1>"),
    ("dns 8.8.8.8:53.", "dns <public-ip-1>:53."),
    ("route 58.62.0.0/16", "route <public-ip-1>/16"),
    ("dns.latency.58.62.111.23.ms", "dns.latency.<public-ip-1>.ms"),
    ("path.2408:8000::1", "path.<public-ip-1>"),
    ("[2001:4860:4860::8888]:53", "[<public-ip-1>]:53"),
    ("addr:240e:3b4:1234:5678::1/64", "addr:<public-ip-1>/64"),
    ("2408:8000::1 and 2408:8000:0:0::1", "<public-ip-1> and <public-ip-1>"),
    ("::ffff:8.8.8.8 is 8.8.8.8", "<public-ip-1> is <public-ip-1>"),
    ("12:34:8.8.8.8", "12:34:<public-ip-1>"),
    ("at 10:20:30 from 116.7.233.45", "at 10:20:30 from <public-ip-1>"),
])
def test_public_addresses_are_replaced(text, expected):
    assert redact(text, hostname="", username="") == expected


def test_not_an_address():
    for text in ("1.2.3.4.5", "version 10.2.3.4.1", "999.1.1.1", "08.08.08.08", "0.1.0"):
        assert redact(text, hostname="", username="") == text


def test_numbering_is_stable_and_distinct():
    result = redact({"a": ["8.8.8.8", "1.0.0.1"], "b": {"8.8.8.8": "1.0.0.1 then 9.9.9.9"}},
                    hostname="", username="")
    assert result == {"a": ["<public-ip-1>", "<public-ip-2>"],
                      "b": {"<public-ip-1>": "<public-ip-2> then <public-ip-3>"}}


def test_numbering_starts_again_each_call():
    assert redact("9.9.9.9", hostname="", username="") == "<public-ip-1>"
    assert redact("8.8.8.8", hostname="", username="") == "<public-ip-1>"


def test_keep_list_is_honoured():
    text = "223.5.5.5 119.29.29.29 8.8.8.8 2400:3200::1 2400:3200:0::1 114.114.114.114"
    result = redact(text, hostname="", username="",
                    keep=["223.5.5.5", "119.29.29.29", "2400:3200:0:0:0:0:0:1",
                          "114.114.114.0/24", "www.baidu.com"])
    assert result == "223.5.5.5 119.29.29.29 <public-ip-1> 2400:3200::1 2400:3200:0::1 " \
                     "114.114.114.114"


def test_profile_endpoints_survive_in_the_report():
    result = redacted()
    assert facts(result, "dns")["public"] == PROFILE_KEEP
    assert facts(result, "dns")["queries"][0]["server"] == "223.5.5.5"
    assert "223.5.5.5" in facts(result, "dns")["latency_by_server"]
    assert facts(result, "internet")["targets"][0]["address"] == "1.1.1.1"
    assert facts(result, "internet")["urls"][0]["url"] == "http://connect.rom.miui.com/generate_204"


# -- names ----------------------------------------------------------------------------------------

def test_host_and_user_names_are_whole_tokens():
    text = ("zhangwei on zhangwei-thinkpad.lan; /home/zhangwei/.config, ZHANGWEI_backup, "
            "zhangweiX, xzhangwei, zhangwei2, Zhangwei's PC; thinkpad")
    result = redact(text, hostname="zhangwei-thinkpad.lan", username="zhangwei")
    assert result == ("<username-1> on <hostname-1>; /home/<username-1>/.config, "
                      "<username-1>_backup, zhangweiX, xzhangwei, zhangwei2, <username-1>'s PC; "
                      "thinkpad")


def test_names_in_text_without_spaces():
    result = redact("网关无响应（主机zhangwei-pc，用户张伟）；张伟的电脑; zhangweiX",
                    hostname="zhangwei-pc", username="张伟")
    assert result == "网关无响应（主机<hostname-1>，用户<username-1>）；<username-1>的电脑; zhangweiX"


def test_dotted_host_name_is_also_redacted_by_its_first_label():
    result = redact("zhangwei-pc.home.arpa or zhangwei-pc", hostname="zhangwei-pc.home.arpa",
                    username="")
    assert result == "<hostname-1> or <hostname-2>"


@pytest.mark.parametrize("name", ["root", "user", "admin", "localhost", "ubuntu", "pi", "ab",
                                  "Administrator", "ok", "home"])
def test_generic_and_short_names_are_left_alone(name):
    text = (f"{name}: rooted users; the user side; root cause; localhost.localdomain; "
            f"status ok at home")
    assert redact(text, hostname=name, username=name) == text


def test_a_user_named_like_a_side_keeps_the_report_valid():
    rep = report()
    rep["verdict"]["side"] = rep["findings"][0]["side"] = "user"
    result = redact(rep, hostname="user", username="user")
    validate(result)
    assert result["verdict"]["side"] == result["findings"][0]["side"] == "user"


def test_host_and_user_name_defaults(monkeypatch):
    monkeypatch.setattr(redact_module.socket, "gethostname", lambda: "liwei-desktop")
    monkeypatch.setattr(redact_module.getpass, "getuser", lambda: "root")
    monkeypatch.setenv("SUDO_USER", "liwei")
    monkeypatch.delenv("DOAS_USER", raising=False)
    monkeypatch.delenv("PKEXEC_UID", raising=False)
    assert redact("liwei@liwei-desktop as root") == "<username-1>@<hostname-1> as root"


def test_host_and_user_name_defaults_that_fail(monkeypatch):
    def fail():
        raise OSError("no name")
    monkeypatch.setattr(redact_module.socket, "gethostname", fail)
    monkeypatch.setattr(redact_module.getpass, "getuser", fail)
    for variable in ("SUDO_USER", "DOAS_USER", "PKEXEC_UID"):
        monkeypatch.delenv(variable, raising=False)
    assert redact({"a": "8.8.8.8 liwei"}) == {"a": "<public-ip-1> liwei"}


def test_empty_names_disable_name_redaction(monkeypatch):
    monkeypatch.setattr(redact_module.socket, "gethostname", lambda: "liwei-desktop")
    assert redact("liwei-desktop", hostname="", username="") == "liwei-desktop"


def test_pppoe_user_keeps_a_hint():
    result = redact(f"user {PPPOE_USER}, account 07551234567, 07551234567X",
                    hostname="", username="", pppoe_users=[PPPOE_USER])
    assert result == "user 075<pppoe-user-1>gd, account 075<pppoe-user-2>67, 07551234567X"


@pytest.mark.parametrize("name", ["ad123", "ad1234", "gd12345"])
def test_short_pppoe_user_is_fully_redacted(name):
    assert redact(f"user={name};", hostname="", username="", pppoe_users=[name]) == \
        "user=<pppoe-user-1>;"


def test_pppoe_users_are_numbered_apart():
    result = redact("ad12345678 bd87654321 AD12345678", hostname="", username="",
                    pppoe_users=["ad12345678", "bd87654321"])
    assert result == "ad1<pppoe-user-1>78 bd8<pppoe-user-2>21 AD1<pppoe-user-1>78"


# -- secrets and credentials -----------------------------------------------------------------------

def test_secrets_go_everywhere_even_inside_words_and_urls():
    text = f"x{PASSWORD}y https://h/?p={PASSWORD}&t={TOKEN}#{TOKEN} Pa55w0rd%21x Pa55w0rd!"
    result = redact(text, secrets=[PASSWORD, TOKEN], hostname="", username="")
    assert result == "x<secret>y https://h/?p=<secret>&t=<secret>#<secret> <secret> Pa55w0rd!"


def test_a_single_string_is_one_value_not_its_letters():
    result = redact("Pa55w0rd!x ad12345678 8.8.8.8 1.1.1.1", secrets=PASSWORD, hostname="",
                    username="", pppoe_users="ad12345678", keep="1.1.1.1")
    assert result == "<secret> ad1<pppoe-user-1>78 <public-ip-1> 1.1.1.1"


def test_secrets_win_over_every_other_rule():
    result = redact(f"{PC_MAC} 8.8.8.8 ad12345678", secrets=["82:a1", "8.8", "d1"],
                    hostname="", username="", pppoe_users=["ad12345678"], keep=["8.8.8.8"])
    for secret in ("82:a1", "8.8", "d1"):
        assert secret not in result


def test_secret_that_looks_like_a_placeholder():
    assert redact("my secret is secret", secrets=["secret"], hostname="", username="") == \
        "my <redacted> is <redacted>"
    result = redact("8.8.8.8 3c:52:82:a1:b2:c3", secrets=["ip-1", "mac"], hostname="",
                    username="")
    assert "ip-1" not in result and "mac" not in result


def test_secret_in_keys_keeps_every_entry():
    result = redact({f"a{TOKEN}": 1, "a<secret>": 2, f"{TOKEN}": 3, "<secret>": 4},
                    secrets=[TOKEN], hostname="", username="")
    assert list(result.values()) == [1, 2, 3, 4]
    assert len(result) == 4 and not any(TOKEN in key for key in result)


@pytest.mark.parametrize("text, expected", [
    ("http://bob:hunter2@10.0.0.1:3128/", "http://<credentials>@10.0.0.1:3128/"),
    ("HTTPS_PROXY=socks5h://bob@proxy.lan:1080",
     "HTTPS_PROXY=socks5h://<credentials>@proxy.lan:1080"),
    ("https://u:p@ss@8.8.8.8/x?y=a@b", "https://<credentials>@<public-ip-1>/x?y=a@b"),
    ("ftp://a:b@h and http://c:d@h2", "ftp://<credentials>@h and http://<credentials>@h2"),
    ("mail me@example.com at http://h/a@b", "mail me@example.com at http://h/a@b"),
])
def test_url_credentials_are_scrubbed(text, expected):
    assert redact(text, hostname="", username="") == expected


# -- properties -----------------------------------------------------------------------------------

CANARY = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&*+-./:;=?@^_~<>",
                 min_size=6, max_size=24)


def planted(canary: str):
    """Random text with the canary somewhere in it."""
    return st.tuples(st.text(max_size=8), st.text(max_size=8)).map(lambda t: t[0] + canary + t[1])


def trees(canary: str):
    text = st.one_of(st.text(max_size=12), planted(canary))
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), text,
                       st.floats(allow_nan=False, allow_infinity=False))
    return st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(text, st.integers(0, 9)), children, max_size=5)), max_leaves=25)


def shape(value):
    """Everything but the strings: containers, key counts and types, non-string values."""
    if isinstance(value, dict):
        return ("dict", [(type(k).__name__, k if not isinstance(k, str) else None, shape(v))
                         for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [shape(v) for v in value])
    if isinstance(value, str):
        return "str"
    return (type(value).__name__, value)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_canary_secret_never_survives_and_the_shape_holds(data):
    canary = data.draw(CANARY, label="canary")
    tree = [data.draw(trees(canary), label="tree"), data.draw(planted(canary), label="planted")]
    pristine = copy.deepcopy(tree)
    result = redact(tree, secrets=[canary], hostname="", username="")
    assert tree == pristine
    assert any(canary in s for s in strings(tree))
    assert not any(canary in s for s in strings(result))
    assert shape(result) == shape(tree)


SEPARATORS = st.sampled_from([" ", ",", ";", "=", "/", "(", ")", "[", "]", "'", '"', "\n", "\t",
                              "|", "<", ">"])
PUBLIC_V4 = st.ip_addresses(v=4).filter(lambda a: a.is_global and not a.is_multicast)
PUBLIC_V6 = st.ip_addresses(v=6).filter(
    lambda a: a.is_global and not a.is_multicast and a.ipv4_mapped is None)
MACS = st.binary(min_size=6, max_size=6).filter(
    lambda b: b not in (bytes(6), b"\xff" * 6)).map(lambda b: ":".join(f"{x:02x}" for x in b))
NOISE = st.text(alphabet=string.ascii_letters + " .,", max_size=10)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(NOISE, SEPARATORS, st.one_of(PUBLIC_V4, PUBLIC_V6, MACS), SEPARATORS),
                min_size=1, max_size=6), NOISE)
def test_public_addresses_and_macs_never_survive_in_free_text(pieces, tail):
    text = "".join(f"{noise}{left}{value}{right}" for noise, left, value, right in pieces) + tail
    result = redact({"reason": text, text: [text]}, hostname="", username="")
    out = dump(result)
    macs = [value for _, _, value, _ in pieces if isinstance(value, str)]
    for _, _, value, _ in pieces:
        if isinstance(value, str):   # a MAC: the vendor part may stay, the device part goes
            assert value not in out
            if not any(value[9:] in other[:8] for other in macs):
                assert value[9:] not in out
        else:
            assert str(value) not in out


# -- a host or user named like a word of the report ----------------------------------------------

def every_check_report() -> dict:
    """The sample report with every registered check in it, and advice naming the router."""
    from diagnose.checks import BY_ID
    rep = report()
    present = {c["id"] for c in rep["checks"]}
    rep["checks"] += [{"id": check, "status": "ok", "duration_ms": 1, "reason": None, "facts": {}}
                      for check in BY_ID if check not in present]
    rep["verdict"]["advice"].append("Restart the router, then check the Wi-Fi and IPv6.")
    return rep


@pytest.mark.parametrize("name", ["router", "wifi", "ipv6", "Router", "path", "mtu", "quality",
                                  "hijack", "proxy", "line", "account"])
def test_a_host_or_user_named_like_a_check_or_side_keeps_the_report_valid(name):
    from diagnose.checks import BY_ID
    original = every_check_report()
    for result in (redact(original, hostname=name, username=""),
                   redact(original, hostname=f"{name}.lan", username=name)):
        validate(result)
        assert [c["id"] for c in result["checks"]] == [c["id"] for c in original["checks"]]
        assert set(BY_ID) <= {c["id"] for c in result["checks"]}
        assert result["verdict"]["advice"][-1] == original["verdict"]["advice"][-1]
        assert result["verdict"]["side"] == original["verdict"]["side"]
