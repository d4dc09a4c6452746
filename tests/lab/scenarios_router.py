"""Lab scenarios for the home router's own word over UPnP IGD (check `router`, rules/router.yaml).

The real miniupnpd speaks for a connected router and for one whose WAN lost its address; the
test IGD (igd_server.py) for what miniupnpd never says: a refused login, no carrier, a
carrier-grade NAT address. The lab's WAN (198.51.100.2, TEST-NET) is no public address, and
miniupnpd answers GetExternalIPAddress with nothing for it. Without an IGD (every core scenario)
the check finds nothing and changes nothing.
"""
from __future__ import annotations

from functools import partial

from . import igd_server, miniupnpd
from .scenario import Scenario

router_login_refused = partial(igd_server.start, status="Disconnected", uptime=0,
                               error="ERROR_AUTHENTICATION_FAILURE", external_ip="")
router_no_carrier = partial(igd_server.start, status="Disconnected", uptime=0,
                            error="ERROR_NO_CARRIER", link="Down", external_ip="")
router_behind_cgnat = partial(igd_server.start, external_ip=igd_server.CGNAT_ADDRESS)
router_malformed_xml = partial(igd_server.start, hostile="malformed")

SCENARIOS = (
    # The WAN is really down too: the router's word must beat the inference of wan-down (L23).
    Scenario("router-says-login-refused", "account", "A42", 4,
             breaks=(("wan_down",), (router_login_refused,)), also=("wan-down",)),
    Scenario("router-says-no-carrier", "line", "L42", 4,
             breaks=(("wan_down",), (router_no_carrier,)), also=("wan-down",)),
    Scenario("router-behind-cgnat", "none", "N23", 0, breaks=((router_behind_cgnat,),),
             also=("router-behind-nat",)),
    Scenario("router-behind-cgnat-unprivileged", "none", "N23", 0, unprivileged=True,
             breaks=((router_behind_cgnat,),), also=("router-behind-nat",)),
    Scenario("router-malformed-xml", "none", "N23", 0, breaks=((router_malformed_xml,),),
             also=("router-answer-unusable",)),
    Scenario("router-miniupnpd-connected", "none", "N23", 0, breaks=((miniupnpd.start,),)),
    # miniupnpd says Disconnected with its physical link Down once wan0 has no address.
    Scenario("router-miniupnpd-wan-lost", "line", "L42", 4,
             breaks=((miniupnpd.start_disconnected,),), also=("wan-down",)),
    # Carrier gone but the address kept: miniupnpd still says Connected. A router that is wrong
    # about a dead line decides nothing; wan-down does.
    Scenario("router-miniupnpd-wan-down", "line", "L23", 4,
             breaks=((miniupnpd.start,), ("wan_down",))),
)
