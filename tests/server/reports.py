"""Realistic reports for the server's tests and benchmark: schema-valid, with real codes."""
from __future__ import annotations

import datetime
import uuid
from typing import Any

from diagnose import digest

CHECKS = digest.CHECK_ORDER
TITLES = {"none": "No fault found", "user": "This computer has no network settings",
          "home": "The home router does not answer", "line": "The line is down",
          "isp": "The operator's DNS does not answer", "account": "Login refused",
          "unknown": "Inconclusive"}
CODES = {"none": "N22", "user": "U22", "home": "H22", "line": "L22", "isp": "S22",
         "account": "A22", "unknown": "X22"}


def make(side: str = "line", *, code: str | None = None, installation: str | None = None,
         at: datetime.datetime | None = None, ac: str | None = None, resolver: str | None = None,
         cgnat: str | None = None, area: str | None = None, lang: str = "en",
         title: str | None = None, advice: list[str] | None = None) -> dict[str, Any]:
    at = at or datetime.datetime.now(datetime.timezone.utc)
    code = code or CODES[side]
    fault = side != "none"   # the finding cites pppoe's facts (checks[].cited_by)
    facts: dict[str, dict] = {check: {} for check in CHECKS}
    facts["pppoe"] = {"is_dialer": bool(ac), "access_concentrator": ac}
    facts["dns"] = {"configured": [resolver or "192.168.1.1"], "configured_works": side != "isp"}
    facts["router"] = {"found": bool(cgnat), "external_ip": cgnat,
                       "external_ip_kind": "shared" if cgnat else None}
    report = {
        "schema_version": 1,
        "id": str(uuid.uuid4()),
        "tool": {"name": "diagnose", "version": "0.1.0"},
        "started_at": at.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")
                      .replace("+00:00", "Z"),
        "duration_ms": 2113,
        "privileged": True,
        "lang": lang,
        "profile": "test-operator",
        **({"installation": installation} if installation else {}),
        **({"area": area} if area else {}),
        "interrupted": False,
        "checks": [{"id": check, "status": "ok",
                    "duration_ms": 5, "reason": "no answer from the access concentrator"
                    if check == "pppoe" and fault else None, "facts": facts[check],
                    "cited_by": [code] if check == "pppoe" and fault else []}
                   for check in CHECKS],
        "findings": [] if side == "none" else [{
            "rule": "line-down", "code": code, "side": side, "severity": "fault",
            "title": title or TITLES[side], "advice": advice or ["Call the hotline."],
            "evidence": {"pppoe.stage": "no_pado"}, "consequence_of": None}],
        "verdict": {"side": side, "code": code, "rule": "line-down", "title": title or TITLES[side],
                    "advice": advice or ["Call the hotline and read out the code."],
                    "ticket": side in ("line", "isp"), "confidence": "high",
                    "evidence": {"pppoe.stage": "no_pado"}},
    }
    report["digest"] = digest.encode(report)
    return report
