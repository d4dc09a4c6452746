"""Lab scenarios for the extra checks: path MTU black hole, NXDOMAIN rewriting, IPv6 reachability.

- Path MTU: the router<->operator link is narrowed to WAN_MTU (both ends), so the router must
  answer larger Don't-Fragment packets from the PC with ICMP "fragmentation needed". With that
  ICMP dropped at the router's output, they vanish silently (a black hole: H63); with it let
  through, path MTU discovery works and nothing is found (the control).
- NXDOMAIN rewriting: the router's DNS proxy (dnsmasq) answers every name under the lab zone with
  the "search page" address, except the real names, which it still forwards to the operator; the
  public resolver keeps saying NXDOMAIN for the rest (N62, information only).
- IPv6: the PC gets a global address (2001:db8::/32, documentation space within 2000::/3) and an
  IPv6 default route, the lab's resolvers AAAA records for the profile's names, and the ISP the
  host addresses. With the router forwarding IPv6 the hosts refuse TCP (an answer: no finding);
  with IPv6 dropped at the router's forward hook nothing answers (N63, information only).

No Wi-Fi scenario: this kernel has no mac80211_hwsim, so the lab cannot have a Wi-Fi adapter
(wifi-weak-signal is covered by tests/unit/test_wifi.py from real adapters' outputs). Facts, the
controls' silence and the unprivileged paths: test_extras.py; the faults: extra_faults.py.
"""
from __future__ import annotations

from .extra_faults import (allow_unprivileged_ping, drop_frag_needed, ipv6_home, narrow_wan,
                           router_drops_ipv6, router_rewrites_nxdomain)
from .scenario import Scenario

SCENARIOS = (
    Scenario("path-mtu-black-hole", "home", "H63", 3, breaks=((narrow_wan,), (drop_frag_needed,))),
    Scenario("path-mtu-black-hole-unprivileged", "home", "H63", 3, unprivileged=True,
             breaks=((allow_unprivileged_ping,), (narrow_wan,), (drop_frag_needed,))),
    # Control: a narrower link whose router says "fragmentation needed" is no fault at all.
    Scenario("path-mtu-narrow-frag-needed", "none", "N23", 0, breaks=((narrow_wan,),)),
    Scenario("path-mtu-narrow-frag-needed-unprivileged", "none", "N23", 0, unprivileged=True,
             breaks=((allow_unprivileged_ping,), (narrow_wan,))),
    Scenario("dns-nxdomain-rewritten", "none", "N23", 0, breaks=((router_rewrites_nxdomain,),),
             also=("dns-nxdomain-rewritten",)),
    Scenario("dns-nxdomain-rewritten-unprivileged", "none", "N23", 0, unprivileged=True,
             breaks=((router_rewrites_nxdomain,),), also=("dns-nxdomain-rewritten",)),
    Scenario("ipv6-unreachable", "none", "N23", 0, breaks=((ipv6_home,), (router_drops_ipv6,)),
             also=("ipv6-unreachable",)),
    Scenario("ipv6-unreachable-unprivileged", "none", "N23", 0, unprivileged=True,
             breaks=((ipv6_home,), (router_drops_ipv6,)), also=("ipv6-unreachable",)),
    # Control: IPv6 works (the hosts refuse the handshake themselves): no finding.
    Scenario("ipv6-working", "none", "N23", 0, breaks=((ipv6_home,),)),
)
