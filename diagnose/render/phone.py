"""What hotline staff read: a rule explained, a digest decoded."""
from __future__ import annotations

from typing import Any

from ..engine.pack import PLACEHOLDER
from .. import sides
from ..i18n import CONFIDENCE_NAMES, STATUS_NAMES, check_name, t

SIDE_NAMES = {side.name: side.means for side in sides.ALL}


def _ticket(lang: str, side: str) -> str:
    return t(lang, sides.BY_NAME[side].hotline_action)


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
