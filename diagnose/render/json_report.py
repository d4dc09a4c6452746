"""The report as exactly one JSON document."""
from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any], *, ascii_only: bool = False) -> str:
    """ascii_only: non-ASCII text as \\u escapes (the same document, for a stream that cannot
    carry it)."""
    return json.dumps(report, ensure_ascii=ascii_only, indent=2, default=str) + "\n"
