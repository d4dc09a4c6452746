"""Assembles the one report tree that every renderer reads (schema: docs/report.schema.json)."""
from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any, Iterable, Mapping

from . import __version__
from . import digest
from .i18n import t
from .model import CheckResult, CheckSpec, Finding, Verdict

SCHEMA_VERSION = 1


def build(*, specs: Iterable[CheckSpec], results: Mapping[str, CheckResult],
          findings: list[Finding], verdict: Verdict, started: datetime.datetime,
          duration_ms: int, privileged: bool, lang: str, profile_name: str,
          interrupted: bool = False, installation: str | None = None,
          area: str | None = None) -> dict[str, Any]:
    cited = citing(findings)
    report = {
        "schema_version": SCHEMA_VERSION,
        "id": str(uuid.uuid4()),
        "tool": {"name": "diagnose", "version": __version__},
        "started_at": started.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")
                      .replace("+00:00", "Z"),
        "duration_ms": duration_ms,
        "privileged": privileged,
        "lang": lang,
        "profile": profile_name,
        **({"installation": installation} if installation else {}),
        **({"area": area} if area else {}),
        "interrupted": interrupted,
        "checks": [{"id": spec.id, "status": results[spec.id].status.value,
                    "duration_ms": results[spec.id].duration_ms,
                    "reason": _reason(results[spec.id], lang),
                    "facts": results[spec.id].facts,
                    "cited_by": cited.get(spec.id, [])}
                   for spec in specs if spec.id in results],
        "findings": [dataclasses.asdict(finding) for finding in findings],
        "verdict": {"side": verdict.side, "code": verdict.code, "rule": verdict.rule,
                    "title": verdict.title, "advice": verdict.advice, "ticket": verdict.ticket,
                    "confidence": verdict.confidence, "evidence": verdict.evidence,
                    "not_observed": verdict.not_observed},
    }
    report["digest"] = digest.encode(report)
    return report


def citing(findings: Iterable[Finding]) -> dict[str, list[str]]:
    """Check id -> the codes of the findings whose evidence names its facts (CHECK.PATH), in the
    findings' order. The one place that says which checks a finding points at: the text report,
    the digest and the operator's pages read it from the report (a check's status says only
    whether it could observe)."""
    cited: dict[str, list[str]] = {}
    for finding in findings:
        for check_id in dict.fromkeys(path.split(".", 1)[0] for path in finding.evidence):
            cited.setdefault(check_id, []).append(finding.code)
    return cited


def _reason(result: CheckResult, lang: str) -> str | None:
    """A check's reason in the report's language, its {names} filled in."""
    if result.reason is None:
        return None
    values = {name: ", ".join(t(lang, item) for item in value) if isinstance(value, list) else value
              for name, value in result.reason_args.items()}   # lists hold marked words
    try:
        return t(lang, result.reason, **values)
    except (KeyError, IndexError, ValueError):   # a reason with braces of its own
        return result.reason
