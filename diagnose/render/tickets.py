"""What `diagnose submit` and `diagnose history` print."""
from __future__ import annotations

import datetime
from typing import Any, Iterable

from .. import sides
from ..i18n import N_, t

SIDE_WORDS = {side.name: side.history_word for side in sides.ALL}


def submitted(results: Iterable[Any], messages: dict[str, str], lang: str) -> str:
    lines = [f"{result.id}: {t(lang, messages[result.code])}" for result in results]
    return "\n".join(lines or [t(lang, "Nothing is waiting to be sent.")]) + "\n"


def history(summary: list[dict[str, Any]], days: int, lang: str) -> str:
    faults = [group for group in summary if group["side"] != sides.NO_FAULT.name]
    if not faults:
        return t(lang, "No fault in the last {days} days.", days=days) + "\n"
    lines = [t(lang, "In the last {days} days:", days=days)]
    for group in faults:
        what = t(lang, SIDE_WORDS.get(group["side"], N_("no clear cause")))
        lines.append("  " + t(lang, "{code} ({what}): {count} times, last {last}", code=group["code"],
                              what=what, count=group["count"], last=local_time(group["last_seen"])))
    return "\n".join(lines) + "\n"


def local_time(iso: str, zone: datetime.tzinfo | None = None) -> str:
    """A stored UTC time as the reader's local time, with the zone: '2024-05-10 18:00 CST'
    (or '+0800' where the zone has no name). zone: the local zone unless given."""
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    local = moment.astimezone(zone)
    name = local.strftime("%Z")
    return local.strftime("%Y-%m-%d %H:%M ") + (name if name and not name.startswith(("UTC+", "UTC-"))
                                                else local.strftime("%z"))
