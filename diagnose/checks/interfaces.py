"""interfaces: every network adapter, its kind and state (sysfs), and which one is primary."""
from __future__ import annotations

import os
from pathlib import Path

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status

ARPHRD_ETHER, ARPHRD_PPP, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 512, 772, 65534
IFF_UP = 0x1
PHYSICAL_KINDS = ("ethernet", "wifi")
_VIRTUAL_DEVTYPES = {"bridge", "bond", "vlan", "macvlan", "ipvlan", "vxlan", "wireguard", "tun",
                     "gre", "dummy"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # e.g. carrier and speed refuse to be read while the link is down
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None else None
    except ValueError:
        return None


def kind_of(sysdir: Path, links: dict[str, tuple[str, str]], driver: str | None) -> str:
    arptype = _int(_read(sysdir / "type"))
    if arptype == ARPHRD_LOOPBACK:
        return "loopback"
    if arptype == ARPHRD_PPP:
        return "ppp"
    if (sysdir / "wireless").exists() or (sysdir / "phy80211").exists():
        return "wifi"
    uevent = _read(sysdir / "uevent") or ""
    devtype = next((line.split("=", 1)[1] for line in uevent.splitlines()
                    if line.startswith("DEVTYPE=")), "")
    if (arptype != ARPHRD_ETHER or devtype in _VIRTUAL_DEVTYPES or (sysdir / "bridge").exists()
            or (sysdir / "bonding").exists() or (sysdir / "tun_flags").exists()):
        return "virtual"
    if "/devices/virtual/" not in os.path.realpath(sysdir):
        return "ethernet"
    if driver not in (None, "veth") or (sysdir / "brport").exists():
        return "virtual"
    # A veth whose peer is not here is the uplink of a container or network namespace. Interface
    # numbers repeat across namespaces, so the peer is local only if it links back to us.
    ifindex, iflink = _read(sysdir / "ifindex"), _read(sysdir / "iflink")
    peer = links.get(iflink)
    local_pair = peer is not None and peer[0] != sysdir.name and peer[1] == ifindex
    is_veth = driver == "veth" or iflink != ifindex
    return "ethernet" if is_veth and not local_pair else "virtual"


def describe(name: str, sysdir: Path, links: dict[str, tuple[str, str]], driver: str | None) -> dict:
    flags = _int(_read(sysdir / "flags")) or 0
    carrier = _read(sysdir / "carrier")
    speed = _int(_read(sysdir / "speed"))
    return {
        "name": name,
        "kind": kind_of(sysdir, links, driver),
        "admin_up": bool(flags & IFF_UP),
        "carrier": None if carrier is None else carrier == "1",
        "operstate": _read(sysdir / "operstate"),
        "mtu": _int(_read(sysdir / "mtu")),
        "speed_mbps": speed if speed and speed > 0 else None,
        "mac": _read(sysdir / "address") or None,
    }


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
    base = ctx.path("/sys/class/net")
    try:
        names = sorted(os.listdir(base))
    except OSError as exc:
        return CheckResult(Status.ERROR, reason=N_("cannot list network adapters: {error}"),
                           reason_args={"error": exc.strerror})
    names = [name for name in names if (base / name).is_dir()]
    links = {_read(base / name / "ifindex"): (name, _read(base / name / "iflink")) for name in names}
    adapters = [describe(name, base / name, links, ctx.driver(name)) for name in names]
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
        return CheckResult(Status.PROBLEM, facts, N_("no wired or Wi-Fi adapter found"))
    if not primary["admin_up"]:
        return CheckResult(Status.PROBLEM, facts, N_("{interface} is disabled"),
                           reason_args={"interface": primary["name"]})
    if primary["carrier"] is False:
        return CheckResult(Status.PROBLEM, facts, N_("{interface} has no link (cable or Wi-Fi)"),
                           reason_args={"interface": primary["name"]})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="interfaces", summary="Network adapters: kind, state, link", run=run,
                  needs=("route",), timeout=1.0,
                  provides=("interfaces", "physical_count", "primary", "primary_kind",
                            "primary_admin_up", "primary_carrier", "primary_mac"),
                  name=N_("adapters"), position=10, digest_slot=1)
