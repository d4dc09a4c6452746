"""Fault-lab faults for the extra checks: a path MTU black hole, NXDOMAIN rewriting, IPv6.

Used by scenarios_extras.py (the verdicts) and test_extras.py (facts and controls); see there.
"""
from __future__ import annotations

from . import netlab

# --- path MTU ------------------------------------------------------------------------------------
# Below every size the check probes above 1400 (1460..1500) and at its 1400 probe: 1400 answers.
WAN_MTU = 1400


def narrow_wan(lab, mtu=WAN_MTU):
    """The router<->operator link carries at most `mtu` bytes per packet (both ends)."""
    lab.ip("rt", "link", "set", netlab.ROUTER_WAN_IF, "mtu", str(mtu))
    lab.ip("isp", "link", "set", netlab.ISP_IF, "mtu", str(mtu))


def drop_frag_needed(lab):
    """The router never sends ICMP "fragmentation needed": too-large DF packets vanish."""
    lab.nft("rt", """
        table ip lab_pmtu_hole {
            chain out {
                type filter hook output priority filter;
                icmp type destination-unreachable icmp code frag-needed drop
            }
        }""")


def allow_unprivileged_ping(lab):
    """net.ipv4.ping_group_range as desktop distributions set it (ICMP datagram sockets)."""
    lab.set_ping_group_range(0, 2147483647)


# --- NXDOMAIN rewriting --------------------------------------------------------------------------
SEARCH_PAGE_ADDR = netlab.PORTAL_ADDR   # where the rewritten answers point


def router_rewrites_nxdomain(lab):
    """The router's dnsmasq answers any name under the lab zone with SEARCH_PAGE_ADDR.

    dnsmasq takes the most specific domain: the real names still go to the operator's resolver
    (and get their real addresses); every other name under the zone gets the made-up answer.
    """
    argv = lab._router_dnsmasq_argv(dhcp=True)
    argv.append(f"--address=/{netlab.LAB_ZONE}/{SEARCH_PAGE_ADDR}")
    argv += [f"--server=/{host}/{netlab.OPERATOR_DNS}" for host, _ in netlab.HOST_RECORDS]
    _restart(lab, "rt-dnsmasq", "rt", argv)
    lab._wait_router_dnsmasq(dhcp=True)


# --- IPv6 ----------------------------------------------------------------------------------------
PC_ADDR6 = "2001:db8:77::10"
ROUTER_LAN_ADDR6 = "2001:db8:77::1"
ROUTER_WAN_ADDR6 = "2001:db8:51::2"
ISP_GW_ADDR6 = "2001:db8:51::1"
WEB_ADDR6 = "2001:db8:80::80"
PORTAL_ADDR6 = "2001:db8:80::81"
ADDR6 = {netlab.WEB_ADDR: WEB_ADDR6, netlab.PORTAL_ADDR: PORTAL_ADDR6}


def ipv6_home(lab):
    """A dual-stack home: global IPv6 on the PC with a default route through the router, the
    router routing it (no NAT) to the operator, AAAA records for the lab names. No listener on
    IPv6, so a TCP handshake is refused by the host: an answer."""
    _link_local_now(lab)
    lab.ip_batch("pc", [f"addr add {PC_ADDR6}/64 dev {netlab.PC_IF} nodad"])
    lab.ip("pc", "-6", "route", "add", "default", "via", ROUTER_LAN_ADDR6)
    lab.ip_batch("rt", [f"addr add {ROUTER_LAN_ADDR6}/64 dev {netlab.ROUTER_LAN_IF} nodad",
                        f"addr add {ROUTER_WAN_ADDR6}/64 dev {netlab.ROUTER_WAN_IF} nodad"])
    lab.ip("rt", "-6", "route", "add", "default", "via", ISP_GW_ADDR6)
    lab.sysctl("rt", "net.ipv6.conf.all.forwarding", "1")
    lab.ip_batch("isp", [f"addr add {ISP_GW_ADDR6}/64 dev {netlab.ISP_IF} nodad"]
                 + [f"addr add {addr}/128 dev lo" for addr in ADDR6.values()])
    lab.ip("isp", "-6", "route", "add", "2001:db8:77::/64", "via", ROUTER_WAN_ADDR6)
    records = [f"--host-record={host},{addr},{ADDR6[addr]}" for host, addr in netlab.HOST_RECORDS]
    for name, listen in (("operator", netlab.OPERATOR_DNS), ("public", netlab.PUBLIC_DNS)):
        argv = [arg for arg in lab._resolver_argv(name, listen)
                if not arg.startswith("--host-record=")] + records
        _restart(lab, f"isp-dns-{name}", "isp", argv)
        lab._wait_tcp(f"isp-dns-{name}", listen, netlab.DNS_PORT)


# Each link's own link-local addresses, added without duplicate address detection.
LINK_LOCAL = (("pc", netlab.PC_IF, "fe80::10"), ("rt", netlab.ROUTER_LAN_IF, "fe80::1"),
              ("rt", netlab.ROUTER_WAN_IF, "fe80::2"), ("isp", netlab.ISP_IF, "fe80::1"))


def _link_local_now(lab):
    """The kernel's own link-local addresses stay "tentative" for the first two seconds (duplicate
    address detection): until then neighbour discovery across the router<->operator link fails
    and IPv6 is dead. Replace them with fixed ones that skip detection, so the lab works at once."""
    for role, interface, address in LINK_LOCAL:
        lab.ip(role, "-6", "addr", "flush", "dev", interface, "scope", "link")
        lab.ip(role, "addr", "add", f"{address}/64", "dev", interface, "nodad")


def router_drops_ipv6(lab):
    """The router forwards no IPv6 at all, silently (no ICMPv6 error either)."""
    lab.nft("rt", """
        table ip6 lab_v6_dead {
            chain forward6 {
                type filter hook forward priority filter;
                drop
            }
        }""")


def _restart(lab, name, role, argv):
    lab._terminate(name)
    lab._spawn(role, name, argv)
