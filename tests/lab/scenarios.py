"""The fault lab's scenarios: how each breaks the home network, and the verdict it must get.

Data only, so a unit test can check that every rule in the pack has a scenario that triggers it.
Each `breaks` names Lab methods (with arguments) applied after the lab is up, or callables
taking the lab. Topics add their own scenarios in tests/lab/scenarios_<topic>.py (a SCENARIOS
tuple), gathered here; each imports `Scenario` from scenario.py, never this module, so any of
them can be imported first.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .scenario import Scenario

CORE = (
    Scenario("healthy", "none", "N23", 0),
    Scenario("healthy-unprivileged", "none", "N23", 0, unprivileged=True),
    Scenario("healthy-unprivileged-ping-allowed", "none", "N23", 0, unprivileged=True,
             breaks=(("set_ping_group_range", 0, 2147483647),)),
    Scenario("no-adapter", "user", "U22", 3, breaks=(("delete_pc_adapter",),)),
    Scenario("adapter-disabled", "user", "U23", 3, breaks=(("disable_pc_adapter",),)),
    Scenario("cable-unplugged", "home", "H22", 3, breaks=(("unplug_cable",),),
             also=("gateway-unreachable",)),
    Scenario("apipa-while-dhcp-works", "user", "U24", 3, breaks=(("set_apipa",),)),
    Scenario("apipa-no-dhcp-server", "home", "H24", 3,
             breaks=(("set_apipa",), ("stop_router_dhcp",))),
    Scenario("apipa-unprivileged", "unknown", "X22", 5, breaks=(("set_apipa",),), unprivileged=True),
    Scenario("no-default-route", "user", "U25", 3, breaks=(("remove_pc_default_route",),)),
    Scenario("router-hung", "home", "H25", 3, breaks=(("router_hang",),)),
    Scenario("gateway-drops-ping", "none", "N23", 0, breaks=(("gateway_drop_ping",),),
             also=("gateway-ignores-ping",)),
    Scenario("router-wan-down", "line", "L23", 4, breaks=(("wan_down",),)),
    Scenario("operator-dns-dead", "isp", "S22", 4, breaks=(("operator_dns_dead",),)),
    Scenario("pc-dns-wrong", "user", "U27", 3, breaks=(("set_pc_dns", "192.168.77.99"),)),
    Scenario("portal-notice", "account", "A22", 4, breaks=(("redirect_http_to_portal",),)),
    Scenario("pppoe-no-pado", "line", "L22", 4, pppoe=True,
             breaks=(("make_pc_pppoe_dialer", False),)),
    Scenario("pppoe-pado-no-session", "user", "U26", 3, pppoe=True,
             breaks=(("make_pc_pppoe_dialer", True),)),
    Scenario("proxy-refusing", "user", "U28", 3,
             env={"HTTP_PROXY": "http://lab-user:CANARY-PROXY-SECRET@127.0.0.1:3128",
                  "https_proxy": "http://127.0.0.1:3128"}),
    Scenario("http-blocked", "unknown", "X22", 5, breaks=(("block_http",),)),
)

SCENARIOS = CORE + tuple(
    scenario
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name)
    if info.name.startswith("scenarios_")
    for scenario in importlib.import_module(f"{__package__}.{info.name}").SCENARIOS)

# Secrets planted in the lab (dialer secrets files, proxy URL) that must never be printed.
CANARIES = ("CANARY-PPPOE-PASSWORD", "CANARY-USER", "CANARY-PROXY-SECRET")


def rules_covered() -> set[str]:
    from diagnose.checks import BY_ID
    from diagnose.engine import pack
    by_code = {rule.code: rule.id for rule in pack.load(None, set(BY_ID))}
    return {by_code[s.code] for s in SCENARIOS} | {rule for s in SCENARIOS for rule in s.also}
