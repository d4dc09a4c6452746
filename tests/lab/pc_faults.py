"""Fault-lab faults on the subscriber's own computer (issue 11).

Used by scenarios_pc.py (the verdicts) and test_pc_side.py (facts and controls); see there.
"""
from __future__ import annotations

import sys
import time

from . import netlab

LOOPBACK_REDIRECT = "127.0.0.1"
LOCAL_RESOLVER = "127.0.0.1"
BLOCKED_ANSWER = "0.0.0.0"


def hosts_line(lab, address, *names):
    """A line in the PC's hosts file."""
    hosts = lab.netns_etc("pc") / "hosts"
    hosts.write_text(hosts.read_text() + f"{address}\t{' '.join(names)}\n")


def nsswitch_files_only(lab):
    """The PC's name service switch looks names up in the hosts file only (no DNS)."""
    (lab.netns_etc("pc") / "nsswitch.conf").write_text(
        "passwd: files\ngroup: files\nhosts: files\nnetworks: files\n")


def local_resolver_blocks(lab):
    """A resolver on the PC itself answers the connectivity host with 0.0.0.0 (others forwarded)."""
    argv = lab._dnsmasq_base("pc-dnsmasq", LOCAL_RESOLVER)
    argv += [f"--server={netlab.ROUTER_LAN_ADDR}", "--cache-size=0",
             f"--address=/{netlab.CONNECT_NAME}/{BLOCKED_ANSWER}"]
    lab._spawn("pc", "pc-dnsmasq", argv)
    lab._wait_tcp("pc-dnsmasq", LOCAL_RESOLVER, netlab.DNS_PORT)
    lab.set_pc_dns(LOCAL_RESOLVER)


HOSTS_TO_LOOPBACK = (hosts_line, LOOPBACK_REDIRECT, netlab.CONNECT_NAME)
HOSTS_TO_OTHER_SERVER = (hosts_line, netlab.PORTAL_ADDR, netlab.WWW_NAME)
HOSTS_AS_DNS = (hosts_line, netlab.WEB_ADDR, netlab.CONNECT_NAME, netlab.WWW_NAME)


# --- a firewall on the PC (class 2) ----------------------------------------------------------------
def firewall_blocks_all(lab):
    """nftables on the PC drops everything it sends out of its adapter (loopback still works)."""
    lab.nft("pc", f"""
        table inet lab_pc_block {{
            chain output {{
                type filter hook output priority filter;
                oifname "{netlab.PC_IF}" drop
            }}
        }}""")


def firewall_blocks_beyond_home(lab):
    """nftables on the PC drops what it sends beyond the home network; the router stays reachable.
    Without the PC's view this is a dead line (L23) and a ticket."""
    lab.nft("pc", f"""
        table ip lab_pc_block_out {{
            chain output {{
                type filter hook output priority filter;
                ip daddr != {netlab.ROUTER_LAN_ADDR.rsplit('.', 1)[0]}.0/{netlab.LAN_PREFIX} drop
            }}
        }}""")


def firewall_drops_tcp(lab):
    """nftables on the PC drops every TCP packet it sends; DNS (UDP) and ping still work. TCP
    swallows the kernel's "not permitted" (the SYN is retried, then times out), so no send is
    refused; the firewall check's handshake sees its retry never leave. Before: X22, and H25
    unprivileged ("restart the router", which answered DNS all along)."""
    lab.nft("pc", """
        table inet lab_pc_block_tcp {
            chain output {
                type filter hook output priority filter;
                meta l4proto tcp drop
            }
        }""")


def firewall_drops_web(lab):
    """nftables on the PC drops only what it sends to the web's ports (TCP 80 and 443), the way a
    security program's web filter or a mistaken rule does; DNS, ping and other TCP still work."""
    lab.nft("pc", """
        table inet lab_pc_block_web {
            chain output {
                type filter hook output priority filter;
                tcp dport { 80, 443 } drop
            }
        }""")


def router_drops_forwarded_tcp(lab):
    """Control for the PC's TCP filter: the ROUTER drops the TCP it would forward from the LAN
    (DNS, ping and the router's own ports still answer). The PC's SYNs leave it, so this is no
    block on the PC."""
    lab.nft("rt", f"""
        table inet lab_rt_block_tcp {{
            chain forward_lan {{
                type filter hook forward priority filter;
                iifname "{netlab.ROUTER_LAN_IF}" meta l4proto tcp drop
            }}
        }}""")


# --- a tunnel that captures the traffic (class 3) ------------------------------------------------
VPN_IF = "vpn0"
VPN_ADDR = "10.8.0.2"
VPN_PEER = "10.8.0.1"   # the tunnel's far end, in the tunnel's subnet
VPN_TABLE = "100"
# Holds a tun device open and drops whatever is routed into it: a VPN whose far end is gone.
TUN_HOLDER = """
import fcntl, os, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
while True:
    os.read(fd, 65536)
"""


def _dead_vpn(lab):
    lab._spawn("pc", "pc-vpn", [sys.executable, "-c", TUN_HOLDER, VPN_IF])
    deadline = time.monotonic() + netlab.READY_TIMEOUT
    while netlab._run(["ip", "-n", lab.ns["pc"], "link", "show", VPN_IF]).returncode != 0:
        if not lab.daemon_alive("pc-vpn") or time.monotonic() > deadline:
            raise netlab.LabError(f"no {VPN_IF}: {lab.daemon_log('pc-vpn')[-500:]}")
        time.sleep(netlab.POLL_INTERVAL)
    lab.ip_batch("pc", [f"link set {VPN_IF} up", f"addr add {VPN_ADDR}/24 dev {VPN_IF}"])


def vpn_split_routes(lab):
    """A VPN client's two half-default routes (0.0.0.0/1, 128.0.0.0/1) into a dead tunnel: they
    beat the default route without replacing it, so the router and its DNS stay reachable."""
    _dead_vpn(lab)
    lab.ip_batch("pc", [f"route add 0.0.0.0/1 dev {VPN_IF}", f"route add 128.0.0.0/1 dev {VPN_IF}"])


def vpn_default_route(lab):
    """A VPN client that replaces the default route by one via the tunnel's far end (10.8.0.1),
    as full-tunnel clients without split routes do. Before: H25 ("restart the router at
    10.8.0.1") as root, U79 ("your address is set by hand") unprivileged."""
    _dead_vpn(lab)
    lab.ip_batch("pc", [f"route replace default via {VPN_PEER} dev {VPN_IF}"])


def vpn_policy_rule(lab):
    """A policy rule sends traffic for the operator's services network (203.0.113.0/24: public
    DNS, web, ping target) to a table whose default route is the dead tunnel."""
    _dead_vpn(lab)
    lab.ip_batch("pc", [f"route add default dev {VPN_IF} table {VPN_TABLE}",
                        f"rule add pref 100 to 203.0.113.0/24 lookup {VPN_TABLE}"])


# --- this PC's own IP settings (class 1) ---------------------------------------------------------
WRONG_SUBNET_ADDR, WRONG_SUBNET_GATEWAY = "10.0.0.10", "10.0.0.1"
NO_ROUTER_GATEWAY = "192.168.77.254"   # in the home's subnet, but no router is there


def _static(lab, address, gateway):
    """The PC's address and gateway set by hand (no lifetime: as a person types them)."""
    lab.ip_batch("pc", [f"addr del {netlab.PC_ADDR}/{netlab.LAN_PREFIX} dev {netlab.PC_IF}",
                        f"addr add {address}/{netlab.LAN_PREFIX} dev {netlab.PC_IF}"])
    lab.ip("pc", "-4", "route", "flush", "exact", "0.0.0.0/0")
    lab.ip("pc", "route", "add", "default", "via", gateway)


def static_wrong_subnet(lab):
    """A static address and gateway from another network (an old office's, a typed-in example);
    the router on the cable is fine and still offers its own addresses. Today: H25."""
    _static(lab, WRONG_SUBNET_ADDR, WRONG_SUBNET_GATEWAY)


def gateway_where_no_router_is(lab):
    """A static address in the home's subnet, but the gateway typed wrong: nothing is there."""
    _static(lab, netlab.PC_ADDR, NO_ROUTER_GATEWAY)


def pc_address_from_dhcp(lab):
    """The PC's address as a DHCP client sets it: with the lease's lifetime."""
    lab.ip("pc", "addr", "change", f"{netlab.PC_ADDR}/{netlab.LAN_PREFIX}", "dev", netlab.PC_IF,
           "valid_lft", "3600", "preferred_lft", "3600")


def router_deaf(lab):
    """Every frame reaching the router's LAN port is dropped, ARP included: a router switched off
    behind a switch or a Wi-Fi extender, whose link stays up. The PC's address came from DHCP."""
    pc_address_from_dhcp(lab)
    lab.nft("rt", f"""
        table netdev lab_deaf {{
            chain ingress {{ type filter hook ingress device "{netlab.ROUTER_LAN_IF}" priority 0;
                             policy drop; }}
        }}""")


# --- the router's DNS service (class 5) and an intercepting network (class 7) --------------------
def _restart_router_dnsmasq(lab, extra, dns=True):
    argv = lab._router_dnsmasq_argv(dhcp=True) + list(extra)
    lab._terminate("rt-dnsmasq")
    lab._spawn("rt", "rt-dnsmasq", argv)
    if dns:
        lab._wait_router_dnsmasq(dhcp=True)
    else:
        lab._wait_until("rt-dnsmasq", lambda pid: netlab._sockets_listening(
            pid, "udp", None, netlab.DHCP_SERVER_PORT), "DHCP socket")


def router_dns_off(lab):
    """The router's DNS service is gone (dnsmasq with --port=0: DHCP only); routing and NAT work.
    Port 53 refuses. Without the router's port in view this is the operator's DNS (S22, a ticket)."""
    _restart_router_dnsmasq(lab, ["--port=0"], dns=False)


def router_dns_silent(lab):
    """The router drops DNS to itself silently (a hung DNS proxy); it still answers ping."""
    lab.nft("rt", f"""
        table inet lab_rt_dns_silent {{
            chain input {{
                type filter hook input priority filter - 5;
                iifname "{netlab.ROUTER_LAN_IF}" udp dport {netlab.DNS_PORT} drop
                iifname "{netlab.ROUTER_LAN_IF}" tcp dport {netlab.DNS_PORT} drop
            }}
        }}""")


def network_intercepts_dns(lab):
    """A filtering gateway: the router takes every DNS query from the LAN, whatever server it is
    for, and answers NXDOMAIN for every name of the lab (its best-known names)."""
    _restart_router_dnsmasq(lab, [f"--address=/{netlab.LAB_ZONE}/"])
    lab.nft("rt", f"""
        table ip lab_rt_intercept {{
            chain prerouting {{
                type nat hook prerouting priority dstnat;
                iifname "{netlab.ROUTER_LAN_IF}" udp dport {netlab.DNS_PORT} dnat to {netlab.ROUTER_LAN_ADDR}
                iifname "{netlab.ROUTER_LAN_IF}" tcp dport {netlab.DNS_PORT} dnat to {netlab.ROUTER_LAN_ADDR}
            }}
        }}""")


INTERCEPT_PORT = 8088


def network_intercepts_tcp(lab):
    """A gateway that takes every TCP connection itself (a hotel's or a company's, a filtering
    box): the router redirects all TCP from the LAN, whatever its address and port, to its own
    web page, a login or notice page (the lab's portal: 302 to the notice). DNS and ping work."""
    lab._spawn("rt", "rt-intercept", [sys.executable, str(netlab.HTTPD_SCRIPT), "--bind",
                                      netlab.ROUTER_LAN_ADDR, "--port", str(INTERCEPT_PORT),
                                      "--mode", "portal"])
    lab._wait_tcp("rt-intercept", netlab.ROUTER_LAN_ADDR, INTERCEPT_PORT)
    lab.nft("rt", f"""
        table ip lab_rt_tcp_intercept {{
            chain prerouting {{
                type nat hook prerouting priority dstnat;
                iifname "{netlab.ROUTER_LAN_IF}" ip daddr != {netlab.ROUTER_LAN_ADDR} meta l4proto tcp redirect to :{INTERCEPT_PORT}
            }}
        }}""")


OFF_SUBNET_GATEWAY = "192.168.78.1"


def gateway_outside_subnet(lab):
    """The home's address with a gateway typed into another subnet (Windows accepts it; Linux
    needs `onlink`): nothing answers there."""
    lab.ip("pc", "-4", "route", "flush", "exact", "0.0.0.0/0")
    lab.ip("pc", "route", "add", "default", "via", OFF_SUBNET_GATEWAY, "dev", netlab.PC_IF, "onlink")

