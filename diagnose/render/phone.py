"""What hotline staff read: a rule explained, a digest decoded."""
from __future__ import annotations

from typing import Any

from ..engine.pack import PLACEHOLDER
from .. import sides
from ..i18n import CONFIDENCE_NAMES, STATUS_NAMES, N_, check_name, t
from .screen import pad, width

SIDE_NAMES = {side.name: side.means for side in sides.ALL}


def _ticket(lang: str, side: str) -> str:
    return t(lang, sides.BY_NAME[side].hotline_action)


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


def explain(rule, lang: str) -> str:
    doc = rule.doc[lang]
    lines = [f"[{rule.code}] {_generic(rule.title[lang])}",
             t(lang, "Side: {side}", side=t(lang, SIDE_NAMES[rule.side])), "",
             t(lang, "What it means:"), f"  {doc['means']}", "",
             t(lang, "How to confirm:"), f"  {doc['confirm']}", "",
             t(lang, "What to tell the subscriber:")]
    lines += [f"  {n}. {_generic(step)}" for n, step in enumerate(rule.advice[lang], 1)]
    lines += ["", t(lang, "Ticket:"), f"  {_ticket(lang, rule.side)}"]
    return "\n".join(lines) + "\n"


def decoded(summary: dict[str, Any], rule, lang: str) -> str:
    side = summary["side"]
    title = _generic(rule.title[lang]) if rule is not None else t(lang, "(a code this rule pack does not know)")
    lines = [f"[{summary['code']}] {title}",
             t(lang, "Side: {side}", side=t(lang, SIDE_NAMES[side])),
             t(lang, "Confidence: {confidence}",
               confidence=t(lang, CONFIDENCE_NAMES[summary["confidence"]])),
             t(lang, "Run as administrator: {answer}",
               answer=t(lang, "yes") if summary["privileged"] else t(lang, "no")),
             t(lang, "Ticket:") + " " + _ticket(lang, side), "", t(lang, "Checks:")]
    for check_id, status in summary["checks"].items():
        shown = t(lang, STATUS_NAMES[status]) if status in STATUS_NAMES else t(lang, "not run")
        lines.append(f"  {shown:<10}{check_name(lang, check_id)}")
    return "\n".join(lines) + "\n"
