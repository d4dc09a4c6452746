"""interfaces: every network adapter (from the platform): kind, state, link; which is primary."""
from __future__ import annotations

import dataclasses

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..platform import NotObserved

PHYSICAL_KINDS = ("ethernet", "wifi")
FACT_KEYS = ("name", "kind", "admin_up", "carrier", "operstate", "mtu", "speed_mbps", "mac")


def pick_primary(adapters: list[dict], default_device: str | None) -> dict | None:
    """The default route's device, else a wired/Wi-Fi adapter with carrier, then one that is up."""
    by_name = {adapter["name"]: adapter for adapter in adapters}
    if default_device in by_name:
        return by_name[default_device]
    physical = [a for a in adapters if a["kind"] in PHYSICAL_KINDS]
    for test in (lambda a: a["carrier"], lambda a: a["admin_up"], lambda a: True):
        for adapter in sorted(physical, key=lambda a: (a["kind"] != "ethernet", a["name"])):
            if test(adapter):
                return adapter
    return None


def run(ctx) -> CheckResult:
    observed = ctx.system.adapters()
    if isinstance(observed, NotObserved):
        return CheckResult(Status.ERROR, reason=N_("cannot list network adapters: {error}"),
                           reason_args={"error": observed.reason})
    adapters = [{key: value for key, value in dataclasses.asdict(adapter).items()
                 if key in FACT_KEYS} for adapter in observed]
    default_device = ctx.facts("route").get("device")
    for adapter in adapters:
        adapter["default_route"] = adapter["name"] == default_device
    primary = pick_primary(adapters, default_device)
    facts = {
        "interfaces": adapters,
        "physical_count": sum(a["kind"] in PHYSICAL_KINDS for a in adapters),
        "primary": primary["name"] if primary else None,
        "primary_kind": primary["kind"] if primary else None,
        "primary_admin_up": primary["admin_up"] if primary else None,
        "primary_carrier": primary["carrier"] if primary else None,
        "primary_mac": primary["mac"] if primary else None,
    }
    if primary is None:
        return CheckResult(Status.OK, facts, N_("no wired or Wi-Fi adapter found"))
    if not primary["admin_up"]:
        return CheckResult(Status.OK, facts, N_("{interface} is disabled"),
                           reason_args={"interface": primary["name"]})
    if primary["carrier"] is False:
        return CheckResult(Status.OK, facts, N_("{interface} has no link (cable or Wi-Fi)"),
                           reason_args={"interface": primary["name"]})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="interfaces", summary="Network adapters: kind, state, link", run=run,
                  needs=("route",), timeout=1.0,
                  provides=("interfaces", "physical_count", "primary", "primary_kind",
                            "primary_admin_up", "primary_carrier", "primary_mac"),
                  name=N_("adapters"), position=10, digest_slot=1)
