"""Lab scenarios for faults on the subscriber's own computer (issue 11): the name lookup
applications really use.

- hosts file: /etc/netns/<pc>/hosts (bind-mounted over the PC's /etc/hosts by `ip netns exec`)
  sends a probe name to loopback, as ad blockers and malware do, or to another live server
  ("points elsewhere" must never be all clear): U72. Control: a hosts line with the address DNS
  gives is no finding.
- nsswitch: the PC's /etc/nsswitch.conf says `hosts: files`, so no program can resolve a name
  while DNS itself answers: U73.
- a resolver on the PC: a dnsmasq on 127.0.0.1 in the PC namespace (an ad blocker's or a DNS
  changer's) answers the connectivity host with 0.0.0.0 and forwards the rest to the router;
  resolv.conf points at it: U74.

- a firewall on the PC: nftables in the PC namespace drops its output, all of it (before: H25,
  "restart the router") or beyond the home (before: L23, a ticket): U75. One that drops only TCP,
  or only TCP to the web's ports 80 and 443, refuses no send (TCP retries a SYN the kernel
  refused, silently): before X22 (and H25 unprivileged), now U75 on the firewall check's
  handshake, whose retry never left the PC; never H25 (the router answered DNS). Control: the
  router drops the TCP it forwards from the LAN: the PC's SYNs leave, so no U75 (X22, as before).
- a dead VPN: a tun device held open by a process that drops what it reads captures the traffic
  beyond the home by split routes (0/1 + 128/1) or by a policy rule (today L23): U76. Or it
  replaces the default route by one via the tunnel's far end: the "gateway" is then no home
  router (before: H25 as root, U79 unprivileged): U76.
- the PC's own IP settings: a static address and gateway from another network (10.0.0.10/24 via
  10.0.0.1) on the home's cable, or the home's subnet with a gateway where nothing is
  (192.168.77.254); today both H25 ("restart the router"). As root the DHCP probe finds the
  router under its real address: U77. Unprivileged only the hand-set address and the silent
  gateway are seen: U79, low confidence. Control: the router really hung while the PC's address
  came from DHCP (a lease lifetime) stays H25. A gateway typed into another subnet (onlink):
  U78, root or not.
- the router's DNS service: off (dnsmasq with --port=0, DHCP and NAT still working: port 53
  refuses) or silent (nft drops DNS to the router), with the public resolver answering; today
  S22, the operator's DNS and a ticket: H72, the router. The operator's resolver dead behind the
  router's live DNS proxy stays S22 (scenario operator-dns-dead in scenarios.py).
- an intercepting network: the router takes every DNS query (DNAT of port 53) and answers NXDOMAIN
  for every name; today X22 "no single cause" with "restart": X72, said in words. Or it takes
  every TCP connection itself (nft redirect of all TCP from the LAN to a page on the router);
  today A22, the operator's arrears notice: X73, the network intercepts.

Each also unprivileged: none of this needs root to see. The faults: pc_faults.py.
"""
from __future__ import annotations

from .pc_faults import (HOSTS_AS_DNS, HOSTS_TO_LOOPBACK, HOSTS_TO_OTHER_SERVER,
                        firewall_blocks_all, firewall_blocks_beyond_home, firewall_drops_tcp,
                        firewall_drops_web, gateway_outside_subnet, gateway_where_no_router_is,
                        local_resolver_blocks, network_intercepts_dns, network_intercepts_tcp,
                        nsswitch_files_only, pc_address_from_dhcp, router_dns_off,
                        router_dns_silent, router_drops_forwarded_tcp, static_wrong_subnet,
                        vpn_default_route, vpn_policy_rule, vpn_split_routes)
from .scenario import Scenario

# Rules that take the default gateway for the home router: wrong when it is a tunnel's far end.
GATEWAY_IS_ROUTER = ("gateway-unreachable", "gateway-unreachable-unconfirmed",
                     "static-settings-no-router", "own-settings-miss-router",
                     "gateway-outside-subnet")

SCENARIOS = (
    Scenario("hosts-file-to-loopback", "user", "U72", 3, breaks=(HOSTS_TO_LOOPBACK,)),
    Scenario("hosts-file-to-loopback-unprivileged", "user", "U72", 3, unprivileged=True,
             breaks=(HOSTS_TO_LOOPBACK,)),
    Scenario("hosts-file-to-other-server", "user", "U72", 3, breaks=(HOSTS_TO_OTHER_SERVER,)),
    # Control: the hosts file says what DNS says.
    Scenario("hosts-file-as-dns", "none", "N23", 0, breaks=(HOSTS_AS_DNS,)),
    Scenario("nsswitch-without-dns", "user", "U73", 3, breaks=((nsswitch_files_only,),)),
    Scenario("nsswitch-without-dns-unprivileged", "user", "U73", 3, unprivileged=True,
             breaks=((nsswitch_files_only,),)),
    Scenario("local-resolver-blocks", "user", "U74", 3, breaks=((local_resolver_blocks,),)),
    Scenario("local-resolver-blocks-unprivileged", "user", "U74", 3, unprivileged=True,
             breaks=((local_resolver_blocks,),)),
    Scenario("pc-firewall-blocks-all", "user", "U75", 3, breaks=((firewall_blocks_all,),)),
    Scenario("pc-firewall-blocks-all-unprivileged", "user", "U75", 3, unprivileged=True,
             breaks=((firewall_blocks_all,),)),
    Scenario("pc-firewall-blocks-beyond-home", "user", "U75", 3,
             breaks=((firewall_blocks_beyond_home,),)),
    Scenario("pc-firewall-blocks-beyond-home-unprivileged", "user", "U75", 3, unprivileged=True,
             breaks=((firewall_blocks_beyond_home,),)),
    # Only TCP dropped, or only the web's ports: no send is refused, but the handshake's retry
    # never left the PC. Never H25: the router answered DNS all along.
    Scenario("pc-firewall-drops-tcp", "user", "U75", 3, breaks=((firewall_drops_tcp,),),
             never=("gateway-unreachable", "gateway-unreachable-unconfirmed")),
    Scenario("pc-firewall-drops-tcp-unprivileged", "user", "U75", 3, unprivileged=True,
             breaks=((firewall_drops_tcp,),),
             never=("gateway-unreachable", "gateway-unreachable-unconfirmed")),
    Scenario("pc-firewall-drops-web", "user", "U75", 3, breaks=((firewall_drops_web,),)),
    Scenario("pc-firewall-drops-web-unprivileged", "user", "U75", 3, unprivileged=True,
             breaks=((firewall_drops_web,),)),
    # Control: the ROUTER drops the LAN's TCP; the PC's SYNs leave it, so no U75 (X22, as before).
    Scenario("router-drops-lan-tcp", "unknown", "X22", 5, breaks=((router_drops_forwarded_tcp,),),
             never=("local-firewall-blocks",)),
    Scenario("router-drops-lan-tcp-unprivileged", "unknown", "X22", 5, unprivileged=True,
             breaks=((router_drops_forwarded_tcp,),), never=("local-firewall-blocks",)),
    Scenario("dead-vpn-split-routes", "user", "U76", 3, breaks=((vpn_split_routes,),)),
    Scenario("dead-vpn-split-routes-unprivileged", "user", "U76", 3, unprivileged=True,
             breaks=((vpn_split_routes,),)),
    Scenario("dead-vpn-policy-rule", "user", "U76", 3, breaks=((vpn_policy_rule,),)),
    Scenario("dead-vpn-default-route", "user", "U76", 3, breaks=((vpn_default_route,),),
             never=GATEWAY_IS_ROUTER),
    Scenario("dead-vpn-default-route-unprivileged", "user", "U76", 3, unprivileged=True,
             breaks=((vpn_default_route,),), never=GATEWAY_IS_ROUTER),
    Scenario("static-wrong-subnet", "user", "U77", 3, breaks=((static_wrong_subnet,),)),
    Scenario("static-wrong-subnet-unprivileged", "user", "U79", 3, unprivileged=True,
             breaks=((static_wrong_subnet,),)),
    Scenario("gateway-where-no-router-is", "user", "U77", 3,
             breaks=((gateway_where_no_router_is,),)),
    Scenario("gateway-where-no-router-is-unprivileged", "user", "U79", 3, unprivileged=True,
             breaks=((gateway_where_no_router_is,),)),
    Scenario("gateway-outside-subnet", "user", "U78", 3, breaks=((gateway_outside_subnet,),)),
    Scenario("gateway-outside-subnet-unprivileged", "user", "U78", 3, unprivileged=True,
             breaks=((gateway_outside_subnet,),)),
    Scenario("router-hung-dhcp-address-unprivileged", "home", "H25", 3, unprivileged=True,
             breaks=((pc_address_from_dhcp,), ("router_hang",))),
    Scenario("router-dns-off", "home", "H72", 3, breaks=((router_dns_off,),)),
    Scenario("router-dns-off-unprivileged", "home", "H72", 3, unprivileged=True,
             breaks=((router_dns_off,),)),
    Scenario("router-dns-silent", "home", "H72", 3, breaks=((router_dns_silent,),)),
    Scenario("network-intercepts-dns", "unknown", "X72", 5, breaks=((network_intercepts_dns,),)),
    Scenario("network-intercepts-dns-unprivileged", "unknown", "X72", 5, unprivileged=True,
             breaks=((network_intercepts_dns,),)),
    Scenario("network-intercepts-tcp", "unknown", "X73", 5, breaks=((network_intercepts_tcp,),)),
    Scenario("network-intercepts-tcp-unprivileged", "unknown", "X73", 5, unprivileged=True,
             breaks=((network_intercepts_tcp,),)),
)
