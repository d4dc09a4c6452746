"""The table of sides (diagnose/sides.py): every place that acts on a side handles every side.

A new side appended to the table must fail here, loudly, until the schema, the docs and the
catalog know it too; everything in the code derives from the table.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from diagnose import digest, exit_codes, sides
from diagnose.engine import judge, pack
from diagnose.engine.conditions import Node
from diagnose.i18n import catalog
from diagnose.model import SIDES, TICKET_SIDES, Verdict
from diagnose.render import phone, tickets

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA = json.loads((DOCS / "report.schema.json").read_text())


def test_the_table_is_well_formed():
    assert len(set(sides.NAMES)) == len(sides.ALL)
    assert len(set(sides.LETTERS)) == len(sides.ALL)
    assert all(re.fullmatch(r"[A-HJ-NP-Z]", letter) for letter in sides.LETTERS)  # no I, O
    assert len(sides.ALL) <= 8, "the digest holds a side in 3 bits"
    for side in sides.ALL:
        for field in dataclasses.fields(side):
            assert getattr(side, field.name) is not None or field.name == "call_operator"


def test_the_digest_keeps_the_sides_it_was_released_with():
    """The digest carries a side as its index in the table: append only."""
    assert sides.LETTERS.startswith("NUHALSX")
    assert sides.NAMES[:7] == ("none", "user", "home", "account", "line", "isp", "unknown")


@pytest.mark.parametrize("side", sides.ALL, ids=lambda s: s.name)
def test_every_side_is_handled_everywhere(side):
    assert side.name in SIDES
    assert (side.name in TICKET_SIDES) == side.ticket
    assert exit_codes.for_side(side.name) is side.exit_code
    assert pack.SIDE_LETTER[side.name] == side.letter
    assert pack.CODE.match(f"{side.letter}23") and digest.CODE.fullmatch(f"{side.letter}23")
    assert digest.SIDE_NAMES[side.letter] == side.name
    assert digest.decode(digest.encode({"privileged": True, "checks": [], "verdict": {
        "code": f"{side.letter}23", "confidence": "high"}}))["side"] == side.name
    assert phone.SIDE_NAMES[side.name] == side.means
    assert phone._ticket("en", side.name) == side.hotline_action
    assert tickets.SIDE_WORDS[side.name] == side.history_word
    verdict = Verdict(side=side.name, code=f"{side.letter}23", rule="r", title="t", advice=[],
                      confidence="high")
    assert verdict.ticket == side.ticket
    judged = judge._verdict((type("R", (), {"side": side.name, "code": f"{side.letter}23",
                                             "id": "r", "title": {"en": "t"},
                                             "advice": {"en": []}, "confidence": "high",
                                             "when": Node("always")})(), {}),
                            [], {}, True, "en", {"name": "ACME"})
    assert any("ACME" in line for line in judged.advice) == bool(side.call_operator)


@pytest.mark.parametrize("side", sides.ALL, ids=lambda s: s.name)
def test_every_side_text_is_translated(side):
    zh = catalog("zh_CN")
    for text in (side.means, side.hotline_action, side.history_word, side.call_operator):
        if text is not None:
            assert zh.gettext(text) != text, f"add the zh_CN text of {text!r}"


def test_the_operators_board_colours_every_side():
    pytest.importorskip("markupsafe")          # the server's extra
    from diagnose.server import charts
    assert set(charts.COLOURS) == set(sides.NAMES), "diagnose/server/charts.py: give it a colour"


def test_the_published_schema_knows_every_side():
    definitions = SCHEMA["$defs"]
    assert tuple(definitions["side"]["enum"]) == sides.NAMES
    assert definitions["code"]["pattern"] == f"^{sides.CODE_PATTERN}$"
    ticket_rule = definitions["verdict"]["if"]["properties"]["side"]["enum"]
    assert set(ticket_rule) == set(TICKET_SIDES)


def test_the_docs_list_every_side():
    guide = (DOCS / "phone-guide.md").read_text()
    for side in sides.ALL:
        assert re.search(rf"^\| {side.letter} \| {side.name} \|", guide, re.M), \
            f"docs/phone-guide.md: add a row for side {side.name}"
    report_doc = (DOCS / "report.md").read_text()
    for side in sides.ALL:
        assert f"`{side.name}`" in report_doc, f"docs/report.md: describe side {side.name}"
