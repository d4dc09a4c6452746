"""This computer's own packet filter: the rule set as the OS shows it (Linux: nftables, which
also holds iptables-nft rules). OS-specific reading stays here, so a platform backend can take
it over (Windows: the firewall's profiles and rules through its COM API)."""
from __future__ import annotations

import json
from typing import Any, Callable

NFT_WAIT_S = 1.0
DROPPING = ("drop", "reject")
# Matches that name a layer-4 protocol by number or name: meta l4proto, ip protocol, ip6 nexthdr.
_PROTOCOL_FIELDS = ({"meta": {"key": "l4proto"}}, {"payload": {"protocol": "ip", "field": "protocol"}},
                    {"payload": {"protocol": "ip6", "field": "nexthdr"}})
_L4_HEADERS = ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "th")   # th: any's ports
TCP = ("tcp", 6)


def _values(right: Any) -> list:
    """A match's right side as a list: one value, a set's members, a range as "low-high"."""
    if isinstance(right, dict) and "set" in right:
        return [v for item in right["set"] for v in _values(item)]
    if isinstance(right, dict) and "range" in right and len(right["range"]) == 2:
        return ["{}-{}".format(*right["range"])]
    return [right] if isinstance(right, (str, int)) else []


def tcp_drop(expressions: list) -> tuple[bool, list]:
    """Whether a dropping rule stops TCP, and the destination ports it names (["all"]: any).

    A rule that names TCP (meta l4proto tcp, ip protocol tcp, a tcp header field) or names no
    layer-4 protocol at all stops TCP; one naming only others (udp dport 53, icmp) does not."""
    named, excluded, ports = set(), set(), []
    for expression in expressions:
        match = expression.get("match") if isinstance(expression, dict) else None
        if not isinstance(match, dict):
            continue
        left, right, negated = match.get("left"), match.get("right"), match.get("op") == "!="
        payload = left.get("payload", {}) if isinstance(left, dict) else {}
        if left in _PROTOCOL_FIELDS:
            (excluded if negated else named).update(_values(right))
        elif isinstance(payload, dict) and payload.get("protocol") in _L4_HEADERS:
            named.add("tcp" if payload["protocol"] == "th" else payload["protocol"])
            if payload.get("protocol") in ("tcp", "th") and payload.get("field") == "dport" \
                    and not negated:
                ports.extend(_values(right))
    stops_tcp = bool(named & set(TCP)) or (not named and not (excluded & set(TCP)))
    return stops_tcp, (ports or ["all"]) if stops_tcp else []


def summarize_nft(document: dict) -> dict[str, Any]:
    """From `nft -j list ruleset`: tables, and the chains on the output path with their policy and
    how many of their rules drop or reject, TCP among them (`tcp_dropping_rules`), and the TCP
    ports those name (`dropped_tcp_ports`: ["all"] when one names none, or a chain drops by policy)."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    tables, chains, tcp_ports = [], {}, []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "table" in item:
            tables.append(f"{item['table'].get('family')} {item['table'].get('name')}")
        elif "chain" in item and item["chain"].get("hook") in ("output", "postrouting"):
            chain = item["chain"]
            key = (chain.get("family"), chain.get("table"), chain.get("name"))
            chains[key] = {"table": f"{key[0]} {key[1]}", "chain": key[2], "hook": chain["hook"],
                           "policy": chain.get("policy", "accept"), "dropping_rules": 0,
                           "tcp_dropping_rules": 0}
        elif "rule" in item:
            rule = item["rule"]
            key = (rule.get("family"), rule.get("table"), rule.get("chain"))
            verdicts = {next(iter(e)) for e in rule.get("expr", []) if isinstance(e, dict) and e}
            if key in chains and verdicts & set(DROPPING):
                chains[key]["dropping_rules"] += 1
                stops_tcp, ports = tcp_drop(rule.get("expr", []))
                chains[key]["tcp_dropping_rules"] += stops_tcp
                tcp_ports.extend(ports)
    output = list(chains.values())
    if any(c["policy"] == "drop" for c in output):
        tcp_ports.append("all")
    return {"tables": tables, "output_chains": output,
            "output_drops": any(c["policy"] == "drop" or c["dropping_rules"] for c in output),
            "output_drops_tcp": any(c["policy"] == "drop" or c["tcp_dropping_rules"] for c in output),
            "dropped_tcp_ports": list(dict.fromkeys(tcp_ports))}


def nft_ruleset(run: Callable[[list[str], float], Any], privileged: bool,
                wait: float = NFT_WAIT_S) -> dict[str, Any]:
    """{outcome: read | not_permitted | no_tool | error, ...}; anything but read is not observed."""
    if not privileged:
        return {"outcome": "not_permitted", "reason": "needs administrator rights"}
    done = run(["nft", "-j", "list", "ruleset"], wait)
    if done is None:
        return {"outcome": "no_tool", "reason": "nft is not installed or did not answer"}
    if done.returncode != 0:
        text = (done.stderr or "").strip()
        permission = "not permitted" in text.lower() or "permission" in text.lower()
        return {"outcome": "not_permitted" if permission else "error", "reason": text[:200]}
    try:
        return {"outcome": "read", **summarize_nft(json.loads(done.stdout or "{}"))}
    except ValueError:
        return {"outcome": "error", "reason": "nft printed no JSON"}
