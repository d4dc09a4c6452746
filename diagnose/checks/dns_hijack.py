"""dns_hijack: does the configured DNS invent answers for names that do not exist (NXDOMAIN rewriting)?

One random name under the domain of the profile's first DNS name (www.example.com ->
nx<random>.example.com) is asked of the configured resolvers and, as the reference, of the
profile's public resolvers, all at once. A resolver that rewrites NXDOMAIN answers with addresses
(an advertising or search page) where the reference says the name does not exist. A domain with a
wildcard record answers through the reference too, so it is never mistaken for rewriting.
"""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import dnsquery

QUERY_WAIT_S = 1.0   # as the dns check: a live resolver answers well within it
MAX_CONFIGURED = 3   # the C library never asks more than three
DEFINITE = ("nxdomain", "nodata")   # the resolver said: no addresses for this name


def probe_name(dns_names: list[str]) -> str | None:
    """A name nobody has: a random label under the first profile name's domain.

    www.example.com -> nx<12 hex>.example.com; example.com -> nx<12 hex>.example.com. None when
    the first name has no domain to ask under (one label, an empty or over-long label)."""
    first = dns_names[0] if dns_names else None
    if not isinstance(first, str):
        return None
    labels = first.strip().rstrip(".").split(".")
    if len(labels) < 2 or any(not 0 < len(label) <= 63 for label in labels):
        return None
    domain = ".".join(labels[1:] if len(labels) >= 3 else labels)
    if len(domain) > 253 - 15:   # room for the random label and its dot
        return None
    return f"nx{secrets.token_hex(6)}.{domain}"


def _verdict_of(queries: list[dict]) -> bool | None:
    """True: some server answered with addresses; False: they said no such name; None: unknown."""
    if any(q["outcome"] == "answer" for q in queries):
        return True
    if any(q["outcome"] in DEFINITE for q in queries):
        return False
    return None


def _nxdomain(queries: list[dict]) -> bool | None:
    """The reference: True when a public resolver (not also configured) says the name does not
    exist and none knows it; False when one knows it (e.g. a wildcard domain); None: no answer."""
    if any(q["outcome"] in ("answer", "nodata") for q in queries):
        return False
    if any(q["outcome"] == "nxdomain" for q in queries):
        return True
    return None


def run(ctx) -> CheckResult:
    config = ctx.system.configured_dns()
    configured = config["servers"][:MAX_CONFIGURED]
    public = list(ctx.profile["probes"]["public_resolvers"])
    name = probe_name(list(ctx.profile["probes"]["dns_names"]))
    facts: dict[str, Any] = {"name": name, "configured": configured, "public": public,
                             "queries": [], "configured_rewrites": None,
                             "reference_nxdomain": None, "rewriting": [], "rewritten_to": []}
    if not configured:
        return CheckResult(Status.SKIPPED, facts, N_("no DNS server configured"))
    if name is None:
        return CheckResult(Status.SKIPPED, facts, N_("no DNS name in the profile"))
    servers = list(dict.fromkeys(configured + public))
    wait = ctx.budget(QUERY_WAIT_S)
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        queries = list(pool.map(lambda server: dnsquery.query_a(server, name, wait), servers))
    by_server = {q["server"]: q for q in queries}
    mine = [by_server[s] for s in configured]
    reference = [by_server[s] for s in public if s not in configured]
    rewriting = [q for q in mine if q["outcome"] == "answer"]
    facts.update(
        queries=queries,
        configured_rewrites=_verdict_of(mine),
        reference_nxdomain=_nxdomain(reference),
        rewriting=[q["server"] for q in rewriting],
        rewritten_to=sorted({a for q in rewriting for a in q["answers"]}),
    )
    if facts["configured_rewrites"] is None:
        return CheckResult(Status.SKIPPED, facts, N_("no configured DNS server answered"))
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="dns_hijack", summary="DNS: answers invented for names that do not exist",
                  run=run, timeout=1.5,
                  provides=("name", "configured", "public", "queries", "configured_rewrites",
                            "reference_nxdomain", "rewriting", "rewritten_to"),
                  name=N_("wrong-address pages"), position=100, digest_slot=12)
