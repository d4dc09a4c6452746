"""The fault lab itself behaves: healthy home, each fault's observable effect.

These tests do not use the diagnose package (only the interpreter start-up
of run_diagnose), so they can run before the package exists.
"""
import ipaddress
import os
import shutil
import stat
from pathlib import Path

import pytest

from . import netlab
from .netlab import (
    APIPA_ADDR, CONNECT_NAME, CONNECTIVITY_URL, DHCP_FIRST, DHCP_LAST, OPERATOR_DNS,
    PC_ADDR, PC_IF, PING_TARGET, PORTAL_ADDR, PORTAL_NOTICE_URL, PUBLIC_DNS,
    ROUTER_LAN_ADDR, WEB_ADDR, WWW_NAME,
)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(60)]

UNPRIVILEGED_PING_RANGE = (0, 2147483647)  # what desktop distributions set
SILENCE_WAIT = 1.0  # seconds to wait for an answer that must not come (lab RTTs are ~1 ms)


def pc_link(lab):
    return lab.ip("pc", "-br", "link", "show", PC_IF).stdout


def pc_ipv4(lab):
    return lab.ip("pc", "-4", "-br", "addr", "show", PC_IF).stdout


def pc_default_routes(lab):
    return lab.ip("pc", "-4", "route", "show", "default").stdout.strip()


def resolve(lab, name):
    """The PC's own resolver path (resolv.conf, nsswitch) via getent."""
    result = lab.exec_in("pc", ["getent", "ahostsv4", name], timeout=30)
    return sorted({line.split()[0] for line in result.stdout.splitlines()})


def dns(lab, server, name=CONNECT_NAME, timeout=netlab.PROBE_TIMEOUT):
    return lab.probe("dns", server, name, timeout=timeout)


def dns_silent(lab, server):
    return dns(lab, server, timeout=SILENCE_WAIT)["status"] == "timeout"


def http(lab, url=CONNECTIVITY_URL, timeout=netlab.PROBE_TIMEOUT):
    return lab.probe("http", url, timeout=timeout)


def assert_offer_in_pool(result):
    assert result["offer"] is not None, result
    offered = ipaddress.ip_address(result["offer"])
    assert ipaddress.ip_address(DHCP_FIRST) <= offered <= ipaddress.ip_address(DHCP_LAST)
    assert result["server"] == ROUTER_LAN_ADDR


# --------------------------------------------------------------- healthy home
def test_healthy_home(lab):
    assert resolve(lab, CONNECT_NAME) == [WEB_ADDR]
    assert resolve(lab, WWW_NAME) == [WEB_ADDR]
    assert http(lab)["status"] == 204
    www = http(lab, f"http://{WWW_NAME}/")
    assert (www["status"], www["body"]) == (200, "lab web\n")
    assert lab.ping(ROUTER_LAN_ADDR)
    assert lab.ping(PING_TARGET)


def test_resolvers_answer_authoritatively(lab):
    for server in (ROUTER_LAN_ADDR, OPERATOR_DNS, PUBLIC_DNS):
        answer = dns(lab, server, "portal.lab.test")
        assert (answer["rcode"], answer["addrs"]) == (0, [PORTAL_ADDR]), server
        assert dns(lab, server, "nosuch.lab.test")["rcode"] == 3, server  # NXDOMAIN


def test_healthy_dhcp_offers_from_the_pool(lab):
    assert_offer_in_pool(lab.probe("dhcp", PC_IF))


def test_pc_namespace_has_its_own_etc(lab):
    resolv = lab.exec_in("pc", ["cat", "/etc/resolv.conf"]).stdout
    assert resolv == f"nameserver {ROUTER_LAN_ADDR}\n"
    hosts = lab.exec_in("pc", ["cat", "/etc/hosts"]).stdout
    assert {line.split()[1] for line in hosts.splitlines()} == {"localhost"}
    # The host's /etc/ppp/peers (dsl-provider) must not leak into the PC.
    assert lab.exec_in("pc", ["ls", "-A", "/etc/ppp/peers"]).stdout == ""


def test_profile_file(lab):
    assert lab.profile_path.read_text() == netlab.PROFILE_TEXT
    assert "public_resolvers: [203.0.113.53]" in netlab.PROFILE_TEXT
    assert f"connectivity_urls: [{CONNECTIVITY_URL}]" in netlab.PROFILE_TEXT
    assert stat.S_IMODE(lab.profile_path.stat().st_mode) == 0o644


def test_ping_group_range_defaults_closed(lab):
    assert lab.exec_in("pc", ["sysctl", "-n", "net.ipv4.ping_group_range"]).stdout.split() \
        == ["1", "0"]


# ---------------------------------------------------------------------- faults
def test_pc_adapter_peer_index_collides_as_in_containers(lab):
    # pc0's peer (in the router) has pc0's own number, as happens in real containers.
    sysfs = lab.exec_in("pc", ["cat", f"/sys/class/net/{PC_IF}/ifindex",
                               f"/sys/class/net/{PC_IF}/iflink"]).stdout.split()
    assert sysfs[0] == sysfs[1] == "2"


def test_delete_pc_adapter(lab):
    lab.delete_pc_adapter()
    links = lab.exec_in("pc", ["ls", "/sys/class/net"]).stdout.split()
    assert links == ["lo"]
    lab.delete_pc_adapter()  # already gone: no error


def test_disable_pc_adapter(lab):
    lab.disable_pc_adapter()
    link = pc_link(lab)
    assert " DOWN " in link and ",UP" not in link, link  # administratively down
    assert not lab.ping(ROUTER_LAN_ADDR)


def test_unplug_cable(lab):
    lab.unplug_cable()
    link = pc_link(lab)  # veth: operstate DOWN (not LOWERLAYERDOWN), admin UP, no carrier
    assert "NO-CARRIER" in link and ",UP>" in link, link
    assert lab.exec_in("pc", ["cat", f"/sys/class/net/{PC_IF}/carrier"]).stdout.strip() == "0"
    assert not lab.ping(ROUTER_LAN_ADDR)


def test_set_apipa_with_dhcp_still_up(lab):
    lab.set_apipa()
    addrs = pc_ipv4(lab)
    assert f"{APIPA_ADDR}/16" in addrs and PC_ADDR not in addrs
    assert pc_default_routes(lab) == ""
    assert lab.daemon_alive("rt-dnsmasq")
    assert_offer_in_pool(lab.probe("dhcp", PC_IF))


def test_stop_router_dhcp(lab):
    lab.stop_router_dhcp()
    assert lab.probe("dhcp", PC_IF, timeout=SILENCE_WAIT)["offer"] is None
    assert dns(lab, ROUTER_LAN_ADDR)["addrs"] == [WEB_ADDR]  # DNS proxy still works


def test_router_hang(lab):
    lab.router_hang()
    assert not lab.ping(ROUTER_LAN_ADDR)
    assert dns_silent(lab, ROUTER_LAN_ADDR)
    assert not lab.ping(PING_TARGET)
    assert " UP " in pc_link(lab)  # the link itself stays up


def test_gateway_drop_ping(lab):
    lab.gateway_drop_ping()
    assert not lab.ping(ROUTER_LAN_ADDR)
    assert lab.ping(PING_TARGET)
    assert dns(lab, ROUTER_LAN_ADDR)["addrs"] == [WEB_ADDR]
    assert http(lab)["status"] == 204


def test_wan_down(lab):
    lab.wan_down()
    assert "NO-CARRIER" in lab.ip("rt", "-br", "link", "show", "wan0").stdout
    assert lab.ping(ROUTER_LAN_ADDR)
    assert not lab.ping(PING_TARGET)


def test_operator_dns_dead(lab):
    lab.operator_dns_dead()
    assert dns(lab, PUBLIC_DNS)["addrs"] == [WEB_ADDR]
    assert dns_silent(lab, ROUTER_LAN_ADDR)
    assert dns_silent(lab, OPERATOR_DNS)
    assert lab.ping(PING_TARGET)


def test_set_pc_dns_works_around_dead_operator_dns(lab):
    lab.operator_dns_dead()
    lab.set_pc_dns(PUBLIC_DNS)
    assert lab.exec_in("pc", ["cat", "/etc/resolv.conf"]).stdout == f"nameserver {PUBLIC_DNS}\n"
    assert resolve(lab, CONNECT_NAME) == [WEB_ADDR]


def test_redirect_http_to_portal(lab):
    lab.redirect_http_to_portal()
    redirected = http(lab)
    assert (redirected["status"], redirected["location"]) == (302, PORTAL_NOTICE_URL)
    notice = http(lab, PORTAL_NOTICE_URL)
    assert notice["status"] == 200 and "arrears" in notice["body"]


def test_block_http(lab):
    lab.block_http()
    assert http(lab, timeout=SILENCE_WAIT)["status"] is None
    assert lab.probe("tcp", PORTAL_ADDR, 80)["connected"]
    assert lab.ping(WEB_ADDR)
    assert dns(lab, ROUTER_LAN_ADDR)["addrs"] == [WEB_ADDR]


def test_remove_pc_default_route(lab):
    lab.remove_pc_default_route()
    assert pc_default_routes(lab) == ""
    assert lab.ping(ROUTER_LAN_ADDR)
    assert not lab.ping(PING_TARGET)


def test_set_ping_group_range_allows_unprivileged_icmp(lab):
    closed = lab.probe("icmp", ROUTER_LAN_ADDR, unprivileged=True)
    assert not closed["reply"] and "PermissionError" in closed["error"], closed
    lab.set_ping_group_range(*UNPRIVILEGED_PING_RANGE)
    assert lab.probe("icmp", ROUTER_LAN_ADDR, unprivileged=True)["reply"]
    assert lab.probe("icmp", PING_TARGET, unprivileged=True)["reply"]


def test_file_capability_ping_cannot_run_without_bounding_set(lab):
    # /usr/bin/ping carries cap_net_raw=ep; with an empty bounding set the
    # kernel refuses to exec such a binary at all (EPERM), even as "nobody".
    ping = shutil.which("ping", path=netlab.DEFAULT_PATH)
    try:
        os.getxattr(ping, "security.capability")
    except OSError:
        pytest.skip(f"{ping} has no file capabilities here")
    result = lab.exec_in("pc", [ping, "-c", "1", "-W", "1", ROUTER_LAN_ADDR],
                         unprivileged=True)
    assert result.returncode == 126 and "Operation not permitted" in result.stderr


# ----------------------------------------------------------------------- PPPoE
def test_pppoe_dialer_with_access_concentrator(pppoe_lab):
    lab = pppoe_lab
    assert "inet " not in lab.ip("pc", "-4", "addr", "show", PC_IF).stdout
    assert pc_default_routes(lab) == ""
    assert " UP " in pc_link(lab)
    assert lab.pppoe_server_listening()
    pado = lab.probe("padi", PC_IF)
    assert pado["pado"] and pado["ac_name"] == "LAB-BRAS", pado
    assert pado["services"] == ["lab-internet"]


def test_pppoe_dialer_configuration(pppoe_lab):
    lab = pppoe_lab
    peer = lab.exec_in("pc", ["cat", "/etc/ppp/peers/dsl-provider"]).stdout.splitlines()
    for line in ("plugin rp-pppoe.so", f"nic-{PC_IF}", f'user "{lab.pppoe_user}"',
                 "noipdefault", "defaultroute", "persist"):
        assert line in peer
    for name in ("chap-secrets", "pap-secrets"):
        secrets = lab.exec_in("pc", ["cat", f"/etc/ppp/{name}"]).stdout
        assert lab.pppoe_password in secrets and lab.pppoe_user in secrets
        mode = lab.exec_in("pc", ["stat", "-c", "%a", f"/etc/ppp/{name}"]).stdout.strip()
        assert mode == "600"
    assert lab.pppoe_password == "CANARY-PPPOE-PASSWORD-9f3b"


def test_pppoe_dialer_can_switch_the_access_concentrator_off(pppoe_lab):
    pid = pppoe_lab.daemon_pid("ac-pppoe-server")
    pppoe_lab.make_pc_pppoe_dialer(access_concentrator=False)
    assert not pppoe_lab.pppoe_server_listening() and not Path(f"/proc/{pid}").exists()
    assert pppoe_lab.probe("padi", PC_IF, timeout=SILENCE_WAIT)["pado"] is False
    pppoe_lab.make_pc_pppoe_dialer(access_concentrator=True, ac_name="OTHER-BRAS")
    assert pppoe_lab.probe("padi", PC_IF)["ac_name"] == "OTHER-BRAS"


def test_pppoe_dialer_without_access_concentrator(lab):
    lab.make_pc_pppoe_dialer(access_concentrator=False)
    assert " UP " in pc_link(lab)
    assert "ac-pppoe-server" not in lab.daemon_names()
    assert lab.probe("padi", PC_IF, timeout=SILENCE_WAIT)["pado"] is False


# ------------------------------------------------------- running as a subscriber
def test_run_python_as_root_and_unprivileged(lab):
    code = ("import os\n"
            "caps = [l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd'))]\n"
            "print(os.getuid(), os.getgid(), os.getgroups(), ''.join(caps).split())\n"
            "print(open(os.environ['LAB_PROFILE']).readline().strip())\n")
    env = {"LAB_PROFILE": str(lab.profile_path)}
    root = lab.run_python(code, env=env)
    assert root.returncode == 0 and root.stdout.startswith("0 0 "), root.stderr
    nobody = lab.run_python(code, env=env, unprivileged=True)
    assert nobody.returncode == 0, nobody.stderr
    ids, profile_line = nobody.stdout.splitlines()
    assert ids == ("65534 65534 [] ['CapEff:', '0000000000000000', "
                   "'CapBnd:', '0000000000000000']")
    assert profile_line == "name: fault-lab"


def test_unprivileged_run_has_clean_env_and_leaves_host_unchanged(lab):
    root_mode = os.stat("/root").st_mode
    result = lab.run_python("import os; print(' '.join(sorted(os.environ)))",
                            unprivileged=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["HOME", "LANG", "PATH", "PYTHONDONTWRITEBYTECODE",
                                     "PYTHONPATH"]
    assert os.stat("/root").st_mode == root_mode
    assert "lab-unpriv" not in Path("/proc/self/mountinfo").read_text()


def test_run_diagnose_starts_unprivileged(lab):
    result = lab.run_diagnose(["--version"], unprivileged=True)
    assert result.returncode not in (126, 127), result.stderr
    for wrapper in ("unshare:", "setpriv:", "mount:", "Permission denied"):
        assert wrapper not in result.stderr, result.stderr


# ------------------------------------------------------------------ lifecycle
def netns_leftovers(lab):
    names = lab.ns.values()
    return ([n for n in names if (netlab.NETNS_RUN_DIR / n).exists()]
            + [n for n in names if (netlab.NETNS_ETC_DIR / n).exists()])


def test_two_labs_at_once_and_clean_stop(lab_factory):
    first, second = lab_factory(), lab_factory()
    assert first.prefix != second.prefix
    assert first.ping(PING_TARGET) and second.ping(PING_TARGET)
    first.wan_down()
    assert not first.ping(PING_TARGET) and second.ping(PING_TARGET)
    tmpdir = first.tmpdir
    first.stop()
    first.stop()  # idempotent
    assert netns_leftovers(first) == [] and not tmpdir.exists()
    assert second.ping(PING_TARGET)
    second.stop()
    assert netns_leftovers(second) == []


def test_pppoe_lab_stop_removes_ac_namespace(pppoe_lab):
    pid = pppoe_lab.daemon_pid("ac-pppoe-server")
    pppoe_lab.stop()
    assert netns_leftovers(pppoe_lab) == []
    assert not Path(f"/proc/{pid}").exists()


def test_stop_after_partial_start(lab_factory, monkeypatch):
    lab = lab_factory(start=False)

    def broken_daemons():
        raise RuntimeError("daemon failed")

    monkeypatch.setattr(lab, "_start_daemons", broken_daemons)
    with pytest.raises(RuntimeError, match="daemon failed"):
        lab.start()
    assert netns_leftovers(lab) == [] and lab.tmpdir is None
    lab.stop()  # still fine


def test_build_and_teardown_are_fast(lab_factory):
    lab = lab_factory()
    lab.stop()
    print(f"\nlab build {lab.build_seconds:.3f} s, teardown {lab.teardown_seconds:.3f} s")
    assert lab.build_seconds < 5 and lab.teardown_seconds < 5
