"""Where in the operator's network a report comes from: its locators (docs/server.md).

Pure: reads a stored report's facts (docs/checks.md) and nothing else. A locator is
``kind:value``; reports sharing one may be one outage.

* ``ac:NAME``: the PPPoE access concentrator that answered (or the one the dialer names).
* ``resolver:ADDRESS``: a configured DNS resolver with a public address: the operator's own
  (the home router's private address says nothing, and redacted addresses are placeholders).
* ``upstream:NETWORK/24``: the router's WAN address when it is in the shared (CGNAT) range,
  which the operator assigns per access area and redaction keeps.
* ``area:NAME``: the access area the operator's profile names (report field ``area``), or the
  one a hotline engineer enters with a phone report.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Mapping

MAX_LOCATOR = 200
KINDS = ("ac", "resolver", "upstream", "area")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def locators(report: Mapping[str, Any]) -> list[str]:
    facts = {check.get("id"): check.get("facts") or {} for check in report.get("checks") or []
             if isinstance(check, Mapping)}
    found: list[str] = []

    def add(kind: str, value: Any) -> None:
        if isinstance(value, str) and value.strip():
            text = f"{kind}:{' '.join(value.split())}"[:MAX_LOCATOR]
            if text not in found:
                found.append(text)

    pppoe = facts.get("pppoe") or {}
    dialer = pppoe.get("dialer") if isinstance(pppoe.get("dialer"), Mapping) else {}
    add("ac", pppoe.get("access_concentrator") or dialer.get("ac_name"))
    configured = (facts.get("dns") or {}).get("configured")
    for server in configured if isinstance(configured, list) else ():
        address = _address(server)
        if address is not None and address.is_global:
            add("resolver", str(address))
    router = facts.get("router") or {}
    upstream = _address(router.get("external_ip"))
    if upstream is not None and upstream.version == 4 and upstream in _SHARED:
        add("upstream", str(ipaddress.ip_network(f"{upstream}/24", strict=False)))
    add("area", report.get("area"))
    return found


def _address(value: Any):
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None


def normalize(text: str) -> str | None:
    """A locator typed by a person (phone report, search): ``kind:value``, or None if not one."""
    kind, _, value = (text or "").strip().partition(":")
    value = " ".join(value.split())
    if kind.strip().lower() not in KINDS or not value or not value.isprintable():
        return None
    return f"{kind.strip().lower()}:{value}"[:MAX_LOCATOR]
