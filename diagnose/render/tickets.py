"""What `diagnose submit` and `diagnose history` print."""
from __future__ import annotations

from typing import Any, Iterable

from .. import sides
from ..i18n import N_, t

SIDE_WORDS = {side.name: side.history_word for side in sides.ALL}


def submitted(results: Iterable[Any], messages: dict[str, str], lang: str) -> str:
    lines = [f"{result.id}: {t(lang, messages[result.code])}" for result in results]
    return "\n".join(lines or [t(lang, "Nothing is waiting to be sent.")]) + "\n"


def history(summary: list[dict[str, Any]], days: int, lang: str) -> str:
    faults = [group for group in summary if group["side"] != "none"]
    if not faults:
        return t(lang, "No fault in the last {days} days.", days=days) + "\n"
    lines = [t(lang, "In the last {days} days:", days=days)]
    for group in faults:
        what = t(lang, SIDE_WORDS.get(group["side"], N_("no clear cause")))
        lines.append("  " + t(lang, "{code} ({what}): {count} times, last {last}", code=group["code"],
                              what=what, count=group["count"], last=group["last_seen"][:16].replace("T", " ")))
    return "\n".join(lines) + "\n"
