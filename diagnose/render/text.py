"""The report for people: the verdict with its code, what to do, the digest, then the checks.

On a terminal every line is wrapped to its width (by display width, with hanging indents), and
the normal view is short enough that the verdict is still on an 80x24 screen when the run ends."""
from __future__ import annotations

import json
from typing import Any

from .. import sides
from ..exit_codes import ExitCode
from ..i18n import CONFIDENCE_MEANINGS, CONFIDENCE_NAMES, STATUS_NAMES, check_name, t
from .screen import pad, width, wrap, wrap_list

_COLOURS = {"ok": "32", "skipped": "2", "error": "35", "timeout": "33"}
_CITED_COLOUR = {"fault": "31"}                      # the checks a finding cites; else yellow
# The verdict's colour follows what its side means for the subscriber (sides.py: exit code):
# green no fault, yellow fixable at home, magenta inconclusive, red outside the home.
_OUTCOME_COLOUR = {ExitCode.NO_FAULT: "32", ExitCode.FAULT_FIXABLE_AT_HOME: "33",
                   ExitCode.INCONCLUSIVE: "35"}
_NOTABLE = ("error", "timeout")          # could not observe: always listed, like cited checks


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def headline(report: dict[str, Any], columns: int | None = None) -> list[str]:
    verdict = report["verdict"]
    return wrap(verdict["title"], columns, f"[{verdict['code']}] ")


def render(report: dict[str, Any], *, colour: bool = False, detail: str = "normal",
           columns: int | None = None, rows: int | None = None) -> str:
    """detail: quiet (the verdict line), normal, or verbose (each check with its facts);
    columns: the terminal's width to wrap to, None for no wrapping (a file or a pipe);
    rows: the terminal's height: the normal view shortens its check list to keep the verdict
    on the screen."""
    lang = report["lang"]
    verdict = report["verdict"]
    if detail == "quiet":
        return f"[{verdict['code']}] {verdict['title']}\n"
    lines = []
    if report.get("interrupted"):
        lines += wrap(t(lang, "Interrupted: the report below is partial."), columns)
    side = sides.BY_NAME.get(verdict["side"])
    lines += [_paint(line, "1;" + _OUTCOME_COLOUR.get(side and side.exit_code, "31"), colour)
              for line in headline(report, columns)]
    lines.append("")
    lines.append(t(lang, "What to do:"))
    for number, step in enumerate(verdict["advice"], 1):
        lines += wrap(step, columns, f"  {number}. ")
    others = [f for f in report["findings"] if f["rule"] != verdict["rule"]]
    codes = {f["rule"]: f["code"] for f in report["findings"]} | {verdict["rule"]: verdict["code"]}
    if others:
        lines.append(t(lang, "Also found:"))
        for finding in others:
            root = finding["consequence_of"]
            after = " " + t(lang, "(follows from {rule})", rule=codes.get(root, root)) if root else ""
            lines += wrap(finding["title"] + after, columns, f"  [{finding['code']}] ")
            if finding.get("not_observed"):
                lines += wrap(_assumed_absent(lang, finding["not_observed"]), columns, "      ")
    lines.append("")
    lines += wrap(t(lang, "Digest (read it out on the phone): {digest}", digest=report["digest"]),
                  columns)
    confidence = t(lang, "Confidence: {confidence} ({meaning}).",
                   confidence=t(lang, CONFIDENCE_NAMES[verdict["confidence"]]),
                   meaning=t(lang, CONFIDENCE_MEANINGS[verdict["confidence"]]))
    ticket = " " + t(lang, "A ticket for the operator is warranted.") if verdict["ticket"] else ""
    lines += wrap(confidence + ticket, columns)
    if verdict.get("not_observed"):
        lines += wrap(_assumed_absent(lang, verdict["not_observed"]), columns)
    lines.append("")
    lines.append(t(lang, "Checks:"))
    checks = _checks(report, lang, colour, columns, verbose=detail == "verbose")
    if detail == "normal" and rows is not None and len(lines) + len(checks) >= rows:
        checks = _checks(report, lang, colour, columns, verbose=False, summary=True)
    return "\n".join(lines + checks) + "\n"


def _assumed_absent(lang: str, facts: list[str]) -> str:
    return t(lang, "Not observed, so assumed absent: {facts}.", facts=", ".join(facts))


def _checks(report: dict[str, Any], lang: str, colour: bool, columns: int | None,
            verbose: bool, summary: bool = False) -> list[str]:
    """Normal: first, for each finding (the verdict's first), the checks whose facts it cites
    (the report's checks[].cited_by); then the other checks grouped by status, in everyday
    words (summary: the ones that observed without being cited only counted). Verbose: one line
    per check with the codes citing it and its reason, then its facts."""
    statuses = {status: t(lang, name) for status, name in STATUS_NAMES.items()}
    names = {c["id"]: check_name(lang, c["id"]) for c in report["checks"]}
    findings = sorted(report["findings"], key=lambda f: f["rule"] != report["verdict"]["rule"])
    labels = [f"[{finding['code']}]" for finding in findings]
    status_width = max(width(name) for name in [*statuses.values(), *labels]) + 2
    lines = []
    if verbose:
        name_width = max((width(name) for name in names.values()), default=0) + 2
        for check in report["checks"]:
            status = _paint(pad(statuses[check["status"]], status_width),
                            _COLOURS[check["status"]], colour)
            first = "  " + status + pad(names[check["id"]], name_width)
            codes = " ".join(f"[{code}]" for code in check.get("cited_by", []))
            lines += wrap(" ".join(filter(None, (codes, check["reason"]))), columns, first,
                          " " * (2 + status_width + name_width))
            for key, value in check["facts"].items():
                shown = json.dumps(_localized(value, lang), ensure_ascii=False)
                lines += wrap(shown, columns, f"      {key}: ", " " * 8)
        return [line.rstrip() for line in lines]
    for finding, label in zip(findings, labels):
        cited = [names[c["id"]] if c["status"] == "ok"
                 else t(lang, "{check} ({status})", check=names[c["id"]], status=statuses[c["status"]])
                 for c in report["checks"] if finding["code"] in c.get("cited_by", [])]
        if cited:
            label = "  " + _paint(pad(label, status_width),
                                  _CITED_COLOUR.get(finding["severity"], "33"), colour)
            lines += wrap_list(cited, t(lang, ", "), columns, label, " " * (2 + status_width))
    uncited = [c for c in report["checks"] if not c.get("cited_by")]
    for status in _NOTABLE if summary else (*_NOTABLE, "ok", "skipped"):
        grouped = [names[c["id"]] for c in uncited if c["status"] == status]
        if grouped:
            label = "  " + _paint(pad(statuses[status], status_width), _COLOURS[status], colour)
            lines += wrap_list(grouped, t(lang, ", "), columns, label, " " * (2 + status_width))
    quiet_ones = [c for c in uncited if c["status"] not in _NOTABLE]
    if summary and quiet_ones:
        lines += wrap(t(lang, "{count} more checks found nothing wrong (diagnose -v lists them)",
                        count=len(quiet_ones)), columns, "  ")
    return [line.rstrip() for line in lines]


def _localized(value: Any, lang: str) -> Any:
    """Facts as they are, except the English sentences some facts carry under "reason"
    (why a step did not run), which are shown in the reader's language; the JSON keeps them."""
    if isinstance(value, dict):
        return {key: t(lang, item) if key == "reason" and isinstance(item, str)
                else _localized(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [_localized(item, lang) for item in value]
    return value
