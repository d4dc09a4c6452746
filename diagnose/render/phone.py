"""What hotline staff read: a rule explained, a digest decoded."""
from __future__ import annotations

from typing import Any

from ..digest import CITED
from ..engine.pack import PLACEHOLDER
from .. import sides
from ..i18n import CONFIDENCE_MEANINGS, CONFIDENCE_NAMES, STATUS_NAMES, N_, check_name, t
from .screen import pad, width, wrap

SIDE_NAMES = {side.name: side.means for side in sides.ALL}


def _ticket(lang: str, side: str) -> str:
    return t(lang, sides.BY_NAME[side].hotline_action)


# A check a finding cites (digests from version 7): it observed, and a finding rests on it.
CITED_NAME = N_("evidence")
SEVERITY_NAMES = {"fault": N_("fault"), "warning": N_("warning"), "info": N_("note")}


def rule_list(rules, lang: str) -> str:
    """`diagnose rules list`: one line per rule, columns aligned by display width."""
    rows = [(rule.code, t(lang, sides.BY_NAME[rule.side].history_word),
             t(lang, SEVERITY_NAMES.get(rule.severity, rule.severity)), rule.id,
             _generic(rule.title[lang])) for rule in rules]
    widths = [max((width(row[column]) for row in rows), default=0) for column in range(4)]
    return "".join("  ".join(pad(cell, widths[n]) for n, cell in enumerate(row[:4]))
                   + "  " + row[4] + "\n" for row in rows)


def _generic(text: str) -> str:
    """A rule text without a run behind it: its {check.fact} placeholders read as '…'."""
    return PLACEHOLDER.sub("…", text)


def explain(rule, lang: str, columns: int | None = None) -> str:
    """columns: the terminal's width to wrap to (hanging indents), None for none."""
    doc = rule.doc[lang]
    lines = wrap(_generic(rule.title[lang]), columns, f"[{rule.code}] ")
    lines += wrap(t(lang, "Side: {side}", side=t(lang, SIDE_NAMES[rule.side])), columns)
    for heading, text in ((N_("What it means:"), doc["means"]),
                          (N_("How to confirm:"), doc["confirm"])):
        lines += ["", t(lang, heading)] + wrap(text, columns, "  ")
    lines += ["", t(lang, "What to tell the subscriber:")]
    for n, step in enumerate(rule.advice[lang], 1):
        lines += wrap(_generic(step), columns, f"  {n}. ")
    lines += ["", t(lang, "Ticket:")] + wrap(_ticket(lang, rule.side), columns, "  ")
    return "\n".join(lines) + "\n"


def decoded(summary: dict[str, Any], rule, lang: str, columns: int | None = None) -> str:
    side = summary["side"]
    title = _generic(rule.title[lang]) if rule is not None else t(lang, "(a code this rule pack does not know)")
    lines = wrap(title, columns, f"[{summary['code']}] ")
    for line in (t(lang, "Side: {side}", side=t(lang, SIDE_NAMES[side])),
                 t(lang, "Confidence: {confidence} ({meaning}).",
                   confidence=t(lang, CONFIDENCE_NAMES[summary["confidence"]]),
                   meaning=t(lang, CONFIDENCE_MEANINGS[summary["confidence"]])),
                 t(lang, "Run as administrator: {answer}",
                   answer=t(lang, "yes") if summary["privileged"] else t(lang, "no")),
                 t(lang, "Ticket:") + " " + _ticket(lang, side)):
        lines += wrap(line, columns)
    lines += ["", t(lang, "Checks:")]
    words = {**STATUS_NAMES, CITED: CITED_NAME}
    statuses = {check_id: t(lang, words[status]) if status in words
                else t(lang, "not run") for check_id, status in summary["checks"].items()}
    status_width = max((width(s) for s in statuses.values()), default=0) + 2
    for check_id, shown in statuses.items():
        lines.append(f"  {pad(shown, status_width)}{check_name(lang, check_id)}")
    return "\n".join(lines) + "\n"
