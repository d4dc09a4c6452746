"""Lab scenarios for a home link that loses most packets (issue 11, class 6): not a dead router.

The relay (relay.py) on the PC-router link drops 45 % of the frames in each direction, so about
70 % of round trips are lost, and ARP with the same odds (`lossy_arp`), as on a weak Wi-Fi signal.
The PC's address comes from DHCP, as in most homes.
- warm: the PC knew the router's hardware address before the fault (a PC in use does); as root
  the ARP series sees the link lose ARP: H54, the link itself. Today a run whose first probes
  were all lost said H25 ("restart the router") or even S22 (the operator's DNS, a ticket).
- cold: the PC has not resolved the router yet (just woken up or plugged in), so its own first ARP
  exchanges are lost too: as root, still H54.
- unprivileged: ARP cannot be observed; the gateway series, watched on when its first probes were
  all lost, counts the answers that do come: H52, packets lost inside the home.
- unprivileged and cold: the kernel's own ARP (once a second) is lost about half the runs; those
  see nothing at all, as from a router that is off, and cannot tell which: H26, both said, low
  confidence (test_pc_side.py; a scenario here would be a coin toss). A router switched off behind
  a switch (`router_deaf`: every frame dropped, ARP included) is the scenario: H25 as root, H26
  unprivileged.
The control, a router that is on but hung (every ARP answered, nothing else), stays H25
(scenario router-hung in scenarios.py); test_pc_side.py checks the facts behind both.
"""
from __future__ import annotations

from . import netlab, relay
from .pc_faults import pc_address_from_dhcp, router_deaf
from .scenario import Scenario

LOSS_EACH_WAY = 0.45   # 1 - 0.55 ** 2: about 70 % of round trips lost


def link_loses_most_frames(lab):
    relay.insert(lab, "lan", loss=LOSS_EACH_WAY, lossy_arp=True)


def router_known(lab):
    """The PC has talked to its router (as a PC in use has): its neighbour entry is resolved.
    Pinged through the lossy link until one echo comes back."""
    for _ in range(ROUTER_KNOWN_TRIES):
        if lab.ping(netlab.ROUTER_LAN_ADDR):
            return
    raise AssertionError("the router never answered through the lossy link")


ROUTER_KNOWN_TRIES = 40   # each try gets through with odds of about 0.3 once ARP is resolved
WARM = ((pc_address_from_dhcp,), (link_loses_most_frames,), (router_known,))
COLD = ((pc_address_from_dhcp,), (link_loses_most_frames,))

# The router's echoes lost with the rest are no sign that it ignores ping (N22).
LOSS_EXPLAINS = ("gateway-ignores-ping",)

SCENARIOS = (
    Scenario("home-link-mostly-lost", "home", "H54", 3, breaks=WARM, never=LOSS_EXPLAINS),
    Scenario("home-link-mostly-lost-cold", "home", "H54", 3, breaks=COLD, never=LOSS_EXPLAINS),
    Scenario("home-link-mostly-lost-unprivileged", "home", "H52", 3, unprivileged=True,
             breaks=WARM, never=LOSS_EXPLAINS),
    Scenario("router-deaf", "home", "H25", 3, breaks=((router_deaf,),)),
    Scenario("router-deaf-unprivileged", "home", "H26", 3, unprivileged=True,
             breaks=((router_deaf,),), never=("gateway-unreachable",)),
)
