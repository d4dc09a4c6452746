"""Judges check results with the rule pack: findings, then one root cause by layer."""
from __future__ import annotations

from typing import Any, Mapping

from .. import sides
from ..i18n import t
from ..model import CheckResult, Finding, Verdict
from . import derive
from .conditions import MISSING, evaluate, lookup, unobserved_basis
from .pack import PLACEHOLDER, Rule

FALLBACK_RULE, FALLBACK_CODE = "no-conclusion", f"{sides.INCONCLUSIVE.letter}99"
_LOWER = {"high": "medium", "medium": "low", "low": "low"}


def fill(text: str, results: Mapping[str, CheckResult]) -> str:
    """Replace {check.path} with the observed value; an unobserved one reads as '?'."""
    def value(match) -> str:
        found = lookup(results, match.group(1))
        if isinstance(found, list):
            return ", ".join(map(str, found)) or "?"
        return "?" if found is MISSING or found is None else str(found)
    return PLACEHOLDER.sub(value, text)


def judge(rules: list[Rule], results: Mapping[str, CheckResult], *, privileged: bool, lang: str,
          isp: Mapping[str, Any]) -> tuple[list[Finding], Verdict]:
    """Findings and the verdict; `rules` is a pack.RulePack, whose derived facts come first."""
    results = derive.apply(getattr(rules, "derivations", ()), results)
    matched: list[tuple[Rule, dict]] = []
    for rule in rules:
        seen: dict[str, Any] = {}
        if evaluate(rule.when, results, seen) is True:
            for path in rule.evidence:
                found = lookup(results, path)
                seen[path] = None if found is MISSING else found
            matched.append((rule, seen))

    faults = [(r, e) for r, e in matched if r.severity == "fault" and not r.verdict_only]
    root = min(faults, key=lambda m: m[0].layer)[0] if faults else None
    findings = [
        Finding(rule=r.id, code=r.code, side=r.side, severity=r.severity,
                title=fill(r.title[lang], results),
                advice=[fill(line, results) for line in r.advice[lang]], evidence=e,
                consequence_of=root.id if root and r.severity == "fault" and r.layer > root.layer
                else None,
                not_observed=sorted(unobserved_basis(r.when, results)))
        for r, e in matched if not r.verdict_only]

    if root is not None:
        chosen = next(m for m in faults if m[0] is root)
    else:
        candidates = [m for m in matched if m[0].verdict_only]
        candidates.sort(key=lambda m: m[0].side != sides.NO_FAULT.name)
        chosen = candidates[0] if candidates else None
    return findings, _verdict(chosen, faults, results, privileged, lang, isp)


def _verdict(chosen, faults, results, privileged: bool, lang: str, isp) -> Verdict:
    if chosen is None:
        verdict = Verdict(side=sides.INCONCLUSIVE.name, code=FALLBACK_CODE, rule=FALLBACK_RULE,
                          title=t(lang, "No clear cause was found."),
                          advice=[t(lang, "Restart the router and this computer, then run diagnose again.")],
                          confidence="low")
    else:
        rule, evidence = chosen
        verdict = Verdict(side=rule.side, code=rule.code, rule=rule.id,
                          title=fill(rule.title[lang], results),
                          advice=[fill(line, results) for line in rule.advice[lang]],
                          confidence=rule.confidence, evidence=evidence,
                          not_observed=sorted(unobserved_basis(rule.when, results)))
    root_layer = min((r.layer for r, _ in faults), default=None)
    rivals = {r.side for r, _ in faults if r.layer == root_layer}
    if len(rivals) > 1:
        verdict.confidence = _LOWER[verdict.confidence]
    # Not everything was observed: the verdict rests on a fact that could not be read, or the run
    # lacked the rights to read some. One step lower either way: the same doubt, said once.
    unprivileged = not privileged and verdict.side != sides.NO_FAULT.name
    if verdict.not_observed or unprivileged:
        verdict.confidence = _LOWER[verdict.confidence]
    if unprivileged:
        verdict.advice.append(t(lang, "Run diagnose again as administrator (sudo) for a sharper answer."))
    call = sides.BY_NAME[verdict.side].call_operator
    if call:
        who = isp.get("name") or t(lang, "your operator")
        if isp.get("hotline"):
            who = f"{who} ({isp['hotline']})"
        verdict.advice.append(t(lang, call, isp=who, code=verdict.code))
    return verdict
