"""This computer's own packet filter: the rule set as the OS shows it (Linux: nftables, which
also holds iptables-nft rules). OS-specific reading stays here, so a platform backend can take
it over (Windows: the firewall's profiles and rules through its COM API)."""
from __future__ import annotations

import json
from typing import Any, Callable

NFT_WAIT_S = 1.0
DROPPING = ("drop", "reject")


def summarize_nft(document: dict) -> dict[str, Any]:
    """From `nft -j list ruleset`: tables, and the chains on the output path with their policy and
    how many of their rules drop or reject."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    tables, chains = [], {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if "table" in item:
            tables.append(f"{item['table'].get('family')} {item['table'].get('name')}")
        elif "chain" in item and item["chain"].get("hook") in ("output", "postrouting"):
            chain = item["chain"]
            key = (chain.get("family"), chain.get("table"), chain.get("name"))
            chains[key] = {"table": f"{key[0]} {key[1]}", "chain": key[2], "hook": chain["hook"],
                           "policy": chain.get("policy", "accept"), "dropping_rules": 0}
        elif "rule" in item:
            rule = item["rule"]
            key = (rule.get("family"), rule.get("table"), rule.get("chain"))
            verdicts = {next(iter(e)) for e in rule.get("expr", []) if isinstance(e, dict) and e}
            if key in chains and verdicts & set(DROPPING):
                chains[key]["dropping_rules"] += 1
    output = list(chains.values())
    return {"tables": tables, "output_chains": output,
            "output_drops": any(c["policy"] == "drop" or c["dropping_rules"] for c in output)}


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
