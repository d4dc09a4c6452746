"""The report for people: the verdict in one sentence with its code, what to do, then the checks."""
from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..i18n import CONFIDENCE_NAMES, STATUS_NAMES, check_name, t

_COLOURS = {"ok": "32", "problem": "31", "skipped": "2", "error": "35", "timeout": "33"}
_SIDE_COLOUR = {"none": "32", "user": "33", "home": "33", "unknown": "35"}


def _width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def render(report: dict[str, Any], *, colour: bool = False, detail: str = "normal") -> str:
    """detail: quiet (the verdict line), normal, or verbose (each check's facts too)."""
    lang = report["lang"]
    verdict = report["verdict"]
    headline = f"[{verdict['code']}] {verdict['title']}"
    if detail == "quiet":
        return headline + "\n"
    lines = []
    if report.get("interrupted"):
        lines.append(t(lang, "Interrupted: the report below is partial."))
    lines.append(_paint(headline, "1;" + _SIDE_COLOUR.get(verdict["side"], "31"), colour))
    lines.append("")
    lines.append(t(lang, "What to do:"))
    lines.extend(f"  {n}. {step}" for n, step in enumerate(verdict["advice"], 1))
    others = [f for f in report["findings"] if f["rule"] != verdict["rule"]]
    codes = {f["rule"]: f["code"] for f in report["findings"]} | {verdict["rule"]: verdict["code"]}
    if others:
        lines.append("")
        lines.append(t(lang, "Also found:"))
        for finding in others:
            root = finding["consequence_of"]
            after = (" " + t(lang, "(follows from {rule})", rule=codes.get(root, root))
                     if finding["consequence_of"] else "")
            lines.append(f"  [{finding['code']}] {finding['title']}{after}")
    lines.append("")
    lines.append(t(lang, "Checks:"))
    names = {c["id"]: check_name(lang, c["id"]) for c in report["checks"]}
    width = max((_width(name) for name in names.values()), default=8)
    for check in report["checks"]:
        status = _pad(t(lang, STATUS_NAMES[check["status"]]), 8)
        line = f"  {_paint(status, _COLOURS[check['status']], colour)}{_pad(names[check['id']], width)}"
        lines.append(f"{line}  {check['reason']}" if check["reason"] else line.rstrip())
        if detail == "verbose":
            lines.extend(f"      {key}: {json.dumps(value, ensure_ascii=False)}"
                         for key, value in check["facts"].items())
    lines.append("")
    confidence = t(lang, CONFIDENCE_NAMES[verdict["confidence"]])
    lines.append(t(lang, "Confidence: {confidence}", confidence=confidence)
                 + (f"  {t(lang, 'A ticket for the operator is warranted.')}" if verdict["ticket"] else ""))
    lines.append(t(lang, "Digest (read it out on the phone): {digest}", digest=report["digest"]))
    return "\n".join(lines) + "\n"
