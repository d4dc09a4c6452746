"""dns: each profile name through the configured resolvers, the gateway and public resolvers."""
from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import dnsquery

# A resolver in the home answers in milliseconds; the operator's within a few hundred. One second
# tells a dead one from a slow one and keeps a dead network's report fast.
QUERY_WAIT_S = 1.0
MAX_CONFIGURED = 3  # the C library never asks more than three


def _works(queries: list[dict], servers: list[str]) -> bool | None:
    if not servers:
        return None
    return any(q["outcome"] == "answer" for q in queries if q["server"] in servers)


def _loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server).is_loopback
    except ValueError:
        return False


def shared_outcome(queries: list[dict], server: str | None) -> str | None:
    """The outcome every question to server got (answer, refused, servfail, timeout, ...), or
    "mixed"; None when server was not asked."""
    outcomes = {q["outcome"] for q in queries if server and q["server"] == server}
    if not outcomes:
        return None
    return outcomes.pop() if len(outcomes) == 1 else "mixed"


def run(ctx) -> CheckResult:
    names = ctx.profile["probes"]["dns_names"]
    config = ctx.system.configured_dns()
    configured = config["servers"][:MAX_CONFIGURED]
    gateway = ctx.facts("route").get("gateway")
    public = list(ctx.profile["probes"]["public_resolvers"])
    operator = list(ctx.profile["probes"].get("operator_resolvers") or [])
    servers = list(dict.fromkeys(configured + ([gateway] if gateway else []) + public + operator))
    wait = ctx.budget(QUERY_WAIT_S)
    pairs = [(server, name) for server in servers for name in names]
    with ThreadPoolExecutor(max_workers=min(32, len(pairs) or 1)) as pool:
        queries = list(pool.map(lambda pair: dnsquery.query_a(pair[0], pair[1], wait), pairs))
    facts = {
        "configured": configured,
        "configured_count": len(configured),
        # Every configured server is on this computer (systemd-resolved's stub, a local dnsmasq).
        "configured_local": all(_loopback(s) for s in configured) if configured else None,
        "configured_source": config["source"],
        "configured_error": config["error"],
        "gateway": gateway,
        "gateway_is_configured": gateway in configured if gateway else False,
        "public": public,
        "queries": queries,
        "configured_works": _works(queries, configured),
        "gateway_works": _works(queries, [gateway] if gateway else []),
        "public_works": _works(queries, public),
        "operator": operator,
        "operator_works": _works(queries, operator),   # null: the profile names none
        # What the router's DNS said to every question alike: REFUSED is its own word.
        "gateway_outcome": shared_outcome(queries, gateway),
        # Every server, public ones included, says the best-known names do not exist: something
        # on the way answers in their place (with how fast, to show it is not them).
        "all_nxdomain": bool(public) and bool(queries) and all(
            q["outcome"] == "nxdomain" for q in queries),
        "slowest_ms": max((q["latency_ms"] for q in queries if q["latency_ms"] is not None),
                          default=None),
    }
    if not configured:
        if config["error"]:
            return CheckResult(Status.OK, facts, N_("cannot read {file}"),
                               reason_args={"file": config["source"] or "?"})
        return CheckResult(Status.OK, facts, N_("no DNS server configured"))
    if not facts["configured_works"]:
        return CheckResult(Status.OK, facts, N_("configured DNS ({servers}) does not resolve"),
                           reason_args={"servers": ", ".join(configured)})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="dns", summary="DNS: configured resolvers, the gateway's and public ones",
                  run=run, needs=("route",), timeout=2.5,
                  provides=("configured", "configured_count", "configured_local",
                            "configured_source", "configured_error", "gateway",
                            "gateway_is_configured", "public", "queries", "configured_works",
                            "gateway_works", "public_works", "operator", "operator_works",
                            "gateway_outcome", "all_nxdomain", "slowest_ms"),
                  name=N_("finding sites by name"), position=90, digest_slot=4)
