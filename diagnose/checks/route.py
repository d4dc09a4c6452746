"""route: the default routes, their gateway and device (from the platform's routing table)."""
from __future__ import annotations

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..platform import NotObserved


def run(ctx) -> CheckResult:
    routes = ctx.system.default_routes()
    if isinstance(routes, NotObserved):
        return CheckResult(Status.ERROR, reason=N_("cannot read the routing table: {error}"),
                           reason_args={"error": routes.reason})
    v4 = [r for r in routes if r.family == 4]
    v6 = [r for r in routes if r.family == 6]
    best = v4[0] if v4 else None
    facts = {
        "default_routes": [{"family": r.family, "device": r.adapter, "metric": r.metric,
                            "gateway": r.gateway} for r in v4 + v6],
        "has_default": best is not None,
        "gateway": best.gateway if best else None,
        "device": best.adapter if best else None,
        "has_ipv6_default": bool(v6),
    }
    if best is None:
        return CheckResult(Status.OK, facts, N_("no IPv4 default route"))
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="route", summary="Default route, gateway and device", run=run, timeout=1.0,
                  provides=("default_routes", "has_default", "gateway", "device",
                            "has_ipv6_default"),
                  name=N_("path to the internet"), position=40, digest_slot=0)
