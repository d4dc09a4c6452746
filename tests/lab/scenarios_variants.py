"""Lab scenarios that vary the classes of issue 11: each class's verdict must hold for the class
of fault, not only for the first scenario written for it (scenarios_pc*.py). The faults:
variant_faults.py.
"""
from __future__ import annotations

from . import variant_faults as vf
from .scenario import Scenario

SCENARIOS = (
    # class 4: the name lookup applications use
    Scenario("hosts-file-blocks-to-0.0.0.0", "user", "U72", 3,
             breaks=((vf.hosts_blocks, vf.BLOCKED_V4),)),
    Scenario("hosts-file-blocks-to-0.0.0.0-unprivileged", "user", "U72", 3, unprivileged=True,
             breaks=((vf.hosts_blocks, vf.BLOCKED_V4),)),
    Scenario("hosts-file-blocks-to-ipv6-loopback", "user", "U72", 3,
             breaks=((vf.hosts_blocks, vf.BLOCKED_V6),)),
    Scenario("hosts-file-blocks-to-ipv6-loopback-unprivileged", "user", "U72", 3, unprivileged=True,
             breaks=((vf.hosts_blocks, vf.BLOCKED_V6),)),
    Scenario("resolved-stub-dead", "user", "U83", 3, breaks=((vf.dead_resolved_stub,),)),
    Scenario("resolved-stub-dead-unprivileged", "user", "U83", 3, unprivileged=True,
             breaks=((vf.dead_resolved_stub,),)),
    Scenario("resolv-conf-empty", "user", "U29", 3, breaks=((vf.resolv_conf_empty,),)),
    Scenario("resolv-conf-empty-unprivileged", "user", "U29", 3, unprivileged=True,
             breaks=((vf.resolv_conf_empty,),)),
    # class 5: the router's DNS service
    Scenario("router-dns-refuses", "home", "H72", 3, breaks=((vf.router_dns_refuses,),)),
    Scenario("router-dns-refuses-unprivileged", "home", "H72", 3, unprivileged=True,
             breaks=((vf.router_dns_refuses,),)),
    # SERVFAIL is what a working DNS proxy passes on from failing operator resolvers too: only the
    # operator's resolvers asked directly (named by the operator's profile) tell the two apart.
    # Without them it stays S22 (docs/rules.md, router-dns-dead).
    Scenario("router-dns-servfail", "home", "H72", 3,
             breaks=((vf.profile_names_operator_resolvers,), (vf.router_dns_answers, "SERVFAIL"))),
    Scenario("router-dns-servfail-unprivileged", "home", "H72", 3, unprivileged=True,
             breaks=((vf.profile_names_operator_resolvers,), (vf.router_dns_answers, "SERVFAIL"))),
    Scenario("router-dns-hung", "home", "H72", 3,
             breaks=((vf.profile_names_operator_resolvers,), (vf.router_dns_hung,))),
    Scenario("router-dns-hung-unprivileged", "home", "H72", 3, unprivileged=True,
             breaks=((vf.profile_names_operator_resolvers,), (vf.router_dns_hung,))),
    # Controls: the operator's resolvers fail, named by the profile: still the operator.
    Scenario("operator-dns-servfail", "isp", "S22", 4,
             breaks=((vf.profile_names_operator_resolvers,),
                     (vf.operator_dns_answers, "SERVFAIL"))),
    Scenario("operator-dns-dead-operator-known", "isp", "S22", 4,
             breaks=((vf.profile_names_operator_resolvers,), ("operator_dns_dead",))),
    # proxies
    Scenario("proxy-name-unresolvable", "user", "U28", 3,
             env={"http_proxy": vf.UNRESOLVABLE_PROXY, "https_proxy": vf.UNRESOLVABLE_PROXY}),
    Scenario("proxy-name-unresolvable-unprivileged", "user", "U28", 3, unprivileged=True,
             env={"http_proxy": vf.UNRESOLVABLE_PROXY, "https_proxy": vf.UNRESOLVABLE_PROXY}),
    Scenario("proxy-silent", "user", "U28", 3,
             env={"http_proxy": vf.SILENT_PROXY, "HTTPS_PROXY": vf.SILENT_PROXY}),
    Scenario("proxy-silent-unprivileged", "user", "U28", 3, unprivileged=True,
             env={"http_proxy": vf.SILENT_PROXY, "HTTPS_PROXY": vf.SILENT_PROXY}),
    # class 3: the path
    Scenario("second-default-route-to-nowhere", "user", "U82", 3,
             breaks=((vf.second_default_route,),)),
    Scenario("second-default-route-to-nowhere-unprivileged", "user", "U82", 3, unprivileged=True,
             breaks=((vf.second_default_route,),)),
    Scenario("second-adapter-default-route", "user", "U82", 3,
             breaks=((vf.second_adapter_default_route,),)),
    Scenario("second-adapter-default-route-unprivileged", "user", "U82", 3, unprivileged=True,
             breaks=((vf.second_adapter_default_route,),)),
    # A split VPN whose own DNS server (set in resolv.conf) is dead: the internet works by address.
    Scenario("vpn-dns-dead", "user", "U27", 3, breaks=((vf.vpn_dns_dead,),)),
    Scenario("vpn-dns-dead-unprivileged", "user", "U27", 3, unprivileged=True,
             breaks=((vf.vpn_dns_dead,),)),
    # class 1: this PC's own IP settings
    Scenario("dhcp-off-no-address", "user", "U24", 3, breaks=((vf.no_address,),)),
    # Without the DHCP probe (administrator rights) a DHCP server that is off and a computer that
    # does not ask look alike: inconclusive, as apipa-unprivileged.
    Scenario("dhcp-off-no-address-unprivileged", "unknown", "X22", 5, unprivileged=True,
             breaks=((vf.no_address,),)),
    # Linux refuses a gateway outside a /32 and a gateway that is its own address: no default route.
    Scenario("netmask-32", "user", "U25", 3, breaks=((vf.host_mask,),)),
    Scenario("netmask-32-unprivileged", "user", "U25", 3, unprivileged=True,
             breaks=((vf.host_mask,),)),
    # A mask too wide that catches no address the lab uses: nothing is broken, all clear.
    Scenario("netmask-8", "none", "N23", 0, breaks=((vf.wide_mask,),)),
    Scenario("netmask-8-unprivileged", "none", "N23", 0, unprivileged=True,
             breaks=((vf.wide_mask,),)),
    Scenario("router-address-as-own", "user", "U25", 3, breaks=((vf.router_address_as_own,),)),
    Scenario("router-address-as-own-unprivileged", "user", "U25", 3, unprivileged=True,
             breaks=((vf.router_address_as_own,),)),
    # class 6, a home link losing a quarter (vf.link_loses_a_quarter), is no scenario: with 20
    # probes to the gateway, 1 lost or none (L52's "under 10 %") happens in about 2.4 % of runs.
)
