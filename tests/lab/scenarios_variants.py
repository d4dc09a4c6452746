"""Lab scenarios that vary the classes of issue 11: each class's verdict must hold for the class
of fault, not only for the first scenario written for it (scenarios_pc*.py). The faults:
variant_faults.py.
"""
from __future__ import annotations

from . import variant_faults as vf
from .scenarios import Scenario

SCENARIOS = (
    # class 4: the DNS settings of this computer
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
    # Controls: the operator's resolvers fail, named by the profile: still the operator.
    Scenario("operator-dns-servfail", "isp", "S22", 4,
             breaks=((vf.profile_names_operator_resolvers,), (vf.operator_dns_answers, "SERVFAIL"))),
    Scenario("operator-dns-dead-operator-known", "isp", "S22", 4,
             breaks=((vf.profile_names_operator_resolvers,), ("operator_dns_dead",))),
    # class 3: the path
    Scenario("second-default-route-to-nowhere", "user", "U82", 3, breaks=((vf.second_default_route,),)),
    Scenario("second-default-route-to-nowhere-unprivileged", "user", "U82", 3, unprivileged=True,
             breaks=((vf.second_default_route,),)),
)
