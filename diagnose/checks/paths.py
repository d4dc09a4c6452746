"""paths: the way traffic really takes. For each destination the kernel's own choice of route,
adapter and source address, so tunnels, split routes, policy rules and a second default route
are judged along the path the traffic takes, not only along the default route's gateway."""
from __future__ import annotations

import json
import tempfile
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..platform import NotObserved


IP_WAIT_S = 0.8
# Link types that carry tunnels: none (tun, WireGuard), IPIP, SIT, IP6IP6, GRE, IP6GRE.
TUNNEL_LINK_TYPES = {65534, 768, 776, 769, 778, 823}
BUILTIN_RULE_PRIORITIES = {0, 32766, 32767}   # local, main, default
TUNNEL_KINDS = ("virtual", "other")   # the platform's adapter kinds that carry tunnels (Windows)


def parse_route_get(output: str) -> list[dict[str, Any]]:
    """`ip -j -batch` of `route get` lines: one JSON array per answered line."""
    paths = []
    for line in output.splitlines():
        try:
            entries = json.loads(line)
        except ValueError:
            continue
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("dst") and "priority" not in entry:
                paths.append({"target": entry["dst"], "dev": entry.get("dev"),
                              "via": entry.get("gateway"), "src": entry.get("prefsrc"),
                              "table": entry.get("table", "main"),
                              "type": entry.get("type", "unicast")})
    return paths


def split_default(route_text: str) -> bool:
    """Two half-default routes (0.0.0.0/1 and 128.0.0.0/1), as VPN clients add to win over the
    default route without replacing it (from /proc/net/route)."""
    halves = set()
    for line in route_text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].upper() == "00000080":   # mask 128.0.0.0, host order
            halves.add(fields[1].upper())
    return {"00000000", "00000080"} <= halves


def custom_rules(output: str) -> list[dict[str, Any]] | None:
    try:
        rules = json.loads(output)
    except ValueError:
        return None
    return [{"priority": r.get("priority"), "table": r.get("table"),
             "selector": {k: v for k, v in r.items() if k not in ("priority", "table", "src")
                          or (k == "src" and v != "all")}}
            for r in rules if isinstance(r, dict)
            and r.get("priority") not in BUILTIN_RULE_PRIORITIES]


def is_tunnel(ctx, device: str | None) -> bool:
    if not device or "/" in device:
        return False
    sysfs = ctx.path(f"/sys/class/net/{device}")
    if (sysfs / "tun_flags").exists():
        return True
    try:
        return int((sysfs / "type").read_text().strip()) in TUNNEL_LINK_TYPES
    except (OSError, ValueError):
        return False


def routed_devices(route_text: str) -> set[str]:
    """The adapters that carry any IPv4 route of the main table (/proc/net/route)."""
    return {line.split()[0] for line in route_text.splitlines()[1:] if line.split()}


def default_via_tunnel(ctx, device: str | None) -> bool | None:
    """Whether the default route itself leaves through a tunnel adapter: its gateway is then the
    tunnel's far end, not the home router. None: no default route, or adapters not observed."""
    if not device:
        return None
    if ctx.path("/sys/class/net").is_dir():
        return is_tunnel(ctx, device)
    adapters = ctx.system.adapters()   # no sysfs (Windows): the platform's adapter kinds
    if isinstance(adapters, NotObserved):
        return None
    kinds = {a.name: a.kind for a in adapters}
    return kinds[device] in TUNNEL_KINDS if device in kinds else None


def tunnel_adapters(ctx) -> list[str]:
    try:
        names = sorted(p.name for p in ctx.path("/sys/class/net").iterdir())
    except OSError:
        return []
    return [name for name in names if is_tunnel(ctx, name)]


def run(ctx) -> CheckResult:
    route = ctx.facts("route")
    probes = ctx.profile["probes"]
    beyond = [a for a in [*probes["ping_targets"][:3], *probes["public_resolvers"][:1]]
              if ":" not in a]
    local = [a for a in ([route.get("gateway")] + ctx.system.configured_dns()["servers"][:3])
             if a and ":" not in a and not a.startswith("127.")]
    targets = list(dict.fromkeys(local + beyond))
    facts: dict[str, Any] = {"targets": targets,
                             "default_route_count": sum(1 for r in route.get("default_routes", [])
                                                        if r.get("family") == 4),
                             "default_via_tunnel": default_via_tunnel(ctx, route.get("device"))}
    try:
        route_text = ctx.path("/proc/net/route").read_text()
    except OSError:
        route_text = None
    if route_text is None:   # no /proc (Windows): the platform's own per-destination choice
        chosen = ctx.system.route_paths(targets)
        if not isinstance(chosen, NotObserved):
            return _platform_paths(ctx, facts, chosen, beyond, route)
        # no ip tool to fall back on either: say what really failed (Wine: GetBestRoute2 50)
        facts.update(split_default=None, tunnel_adapters=None, ip_tool="platform", paths=None,
                     unrouted=None, tunnel_devices=None, beyond_devices=None,
                     beyond_via_tunnel=None, beyond_off_default=None, policy_rules=None)
        return CheckResult(Status.SKIPPED, facts,
                           N_("the route lookup is not available on this system ({error})"),
                           reason_args={"error": chosen.reason})
    facts["split_default"] = split_default(route_text) if route_text is not None else None
    facts["tunnel_adapters"] = tunnel_adapters(ctx)
    if route_text is not None and not facts["tunnel_adapters"] and len(routed_devices(route_text)) <= 1:
        # No tunnel adapter exists and one adapter carries every IPv4 route: each path is that
        # adapter's, nothing can go through a tunnel, and no process needs to be started.
        facts.update(ip_tool="not_needed", paths=None, unrouted=None, tunnel_devices=[],
                     beyond_devices=None, beyond_via_tunnel=False, beyond_off_default=None,
                     policy_rules=None)
        return CheckResult(Status.OK, facts)
    done = _ip_batch(ctx, [f"route get {t}" for t in targets] + ["rule show"])
    if done is None:
        facts.update(ip_tool="missing", paths=None, beyond_via_tunnel=None, tunnel_devices=None,
                     policy_rules=None, beyond_devices=None, beyond_off_default=None)
        return CheckResult(Status.SKIPPED, facts, N_("cannot ask the kernel for routes: {reason}"),
                           reason_args={"reason": N_("the ip tool is missing")})
    paths = parse_route_get(done)
    if not paths and targets:
        facts.update(ip_tool="error", paths=None, beyond_via_tunnel=None, tunnel_devices=None,
                     policy_rules=None, beyond_devices=None, beyond_off_default=None)
        return CheckResult(Status.ERROR, facts, N_("cannot ask the kernel for routes: {reason}"),
                           reason_args={"reason": "ip -j"})
    rules_line = next((line for line in reversed(done.splitlines()) if '"priority"' in line), "[]")
    for path in paths:
        path["tunnel"] = is_tunnel(ctx, path["dev"])
    beyond_paths = [p for p in paths if p["target"] in beyond]
    tunnels = list(dict.fromkeys(p["dev"] for p in paths if p["tunnel"]))
    default_dev, default_via = route.get("device"), route.get("gateway")
    facts.update(
        ip_tool="ok",
        paths=paths,
        unrouted=[t for t in targets if t not in {p["target"] for p in paths}],
        tunnel_devices=tunnels,
        beyond_devices=list(dict.fromkeys(p["dev"] for p in beyond_paths)),
        beyond_via_tunnel=(any(p["tunnel"] for p in beyond_paths) if beyond_paths else None),
        # The traffic beyond the home leaves by another adapter or gateway than the default route's.
        beyond_off_default=(any(p["dev"] != default_dev or p["via"] != default_via
                                for p in beyond_paths) if beyond_paths and default_dev else None),
        policy_rules=custom_rules(rules_line),
    )
    if facts["beyond_via_tunnel"]:
        return CheckResult(Status.OK, facts, N_("traffic beyond the home goes through {devices}"),
                           reason_args={"devices": tunnels})
    return CheckResult(Status.OK, facts)


def _platform_paths(ctx, facts: dict[str, Any], chosen: list, beyond: list[str],
                    route: dict[str, Any]) -> CheckResult:
    """The same facts from the platform's RoutePath list (Windows: GetBestRoute2). Tunnels: the
    adapters the platform calls virtual or other (VPN, Wintun, WireGuard, TAP)."""
    adapters = ctx.system.adapters()
    kinds = {} if isinstance(adapters, NotObserved) else {a.name: a.kind for a in adapters}
    paths = [{"target": p.target, "dev": p.adapter, "via": p.gateway, "src": p.source,
              "table": None, "type": "unicast", "tunnel": kinds.get(p.adapter) in TUNNEL_KINDS}
             for p in chosen]
    beyond_paths = [p for p in paths if p["target"] in beyond]
    default_dev, default_via = route.get("device"), route.get("gateway")
    facts.update(
        split_default=None, policy_rules=None, ip_tool="platform", paths=paths,
        tunnel_adapters=[name for name, kind in kinds.items() if kind in TUNNEL_KINDS],
        unrouted=[t for t in facts["targets"] if t not in {p["target"] for p in paths}],
        tunnel_devices=list(dict.fromkeys(p["dev"] for p in paths if p["tunnel"])),
        beyond_devices=list(dict.fromkeys(p["dev"] for p in beyond_paths)),
        beyond_via_tunnel=(any(p["tunnel"] for p in beyond_paths) if beyond_paths else None),
        beyond_off_default=(any(p["dev"] != default_dev or p["via"] != default_via
                                for p in beyond_paths) if beyond_paths and default_dev else None))
    if facts["beyond_via_tunnel"]:
        return CheckResult(Status.OK, facts, N_("traffic beyond the home goes through {devices}"),
                           reason_args={"devices": facts["tunnel_devices"]})
    return CheckResult(Status.OK, facts)


def _ip_batch(ctx, lines: list[str]) -> str | None:
    """stdout of one `ip -j -force -batch FILE` over the lines (one process, not one per target);
    None without the ip tool. -force: a destination without a route does not stop the rest."""
    with tempfile.NamedTemporaryFile("w", prefix="diagnose-ip-", suffix=".batch") as batch:
        batch.write("\n".join(lines) + "\n")
        batch.flush()
        done = ctx.run(["ip", "-j", "-force", "-batch", batch.name], ctx.budget(IP_WAIT_S))
    return None if done is None else done.stdout


CHECK = CheckSpec(id="paths", summary="The route, adapter and source the kernel picks per destination",
                  run=run, needs=("route",), timeout=1.0,
                  provides=("targets", "split_default", "tunnel_adapters", "ip_tool", "paths", "unrouted",
                            "tunnel_devices", "beyond_devices", "beyond_via_tunnel",
                            "beyond_off_default", "policy_rules", "default_route_count",
                            "default_via_tunnel"),
                  name=N_("traffic paths"), position=56, digest_slot=16)
