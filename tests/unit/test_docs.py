"""docs/ stays true to the code it describes: the checks' table to their declarations."""
from __future__ import annotations

import re
from pathlib import Path

from diagnose.checks import ALL

DOCS = Path(__file__).resolve().parents[2] / "docs"


def checks_table() -> dict[str, dict]:
    rows = {}
    for line in (DOCS / "checks.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`[a-z][a-z0-9_]*`", cells[0]):
            rows[cells[0].strip("`")] = {"needs": cells[1], "timeout": cells[2],
                                         "privilege": cells[3]}
    return rows


def test_the_checks_table_matches_every_checks_declaration():
    rows = checks_table()
    assert sorted(rows) == sorted(spec.id for spec in ALL), "docs/checks.md: one row per check"
    for spec in ALL:
        row = rows[spec.id]
        assert row["needs"] == ", ".join(spec.needs), spec.id
        assert row["timeout"] == f"{spec.timeout:g} s", spec.id
        assert row["privilege"] == ("" if spec.privilege == "none" else spec.privilege), spec.id


def test_every_check_has_its_section():
    text = (DOCS / "checks.md").read_text()
    for spec in ALL:
        assert f"\n## {spec.id}\n" in text, f"docs/checks.md: add a section ## {spec.id}"
