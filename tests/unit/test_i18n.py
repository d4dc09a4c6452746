"""Every string a person reads exists in Simplified Chinese too."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import click
import pytest

from diagnose import catalog
from diagnose.cli import build_app, main
from diagnose.i18n import CHECK_NAMES, LOCALE_DIR
from diagnose.checks import BY_ID

from .i18n_extract import PACKAGE, marked_strings

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "diagnose.po"
ZH = catalog.parse_po(PO.read_text(encoding="utf-8"))
# click messages no user of diagnose can meet: programming errors, Windows, editors, completion.
CLICK_INTERNAL = re.compile(r"defined twice|No options defined|declaration|determine name|"
                            r"same flag|Deprecat|Windows|Editing failed|Bash|Unknown color|"
                            r"standard stream|\(dynamic\)|^d$|^Choice\(")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_marked_string_is_translated():
    missing = {msgid: where for msgid, where in marked_strings().items() if not ZH.get(msgid)}
    assert not missing, f"add to {PO.name}: {missing}"


def test_translations_keep_their_placeholders():
    for msgid, msgstr in ZH.items():
        if msgid and "\0" not in msgid and "%(" not in msgid:
            assert fields(msgid) == fields(msgstr), msgid


def test_every_check_has_a_display_name():
    assert set(BY_ID) <= set(CHECK_NAMES)


def test_compiled_catalog_matches_its_source():
    assert PO.with_suffix(".mo").read_bytes() == catalog.write_mo(ZH), \
        "recompile: python -m diagnose.catalog"


def click_messages() -> set[str]:
    found = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
                args = node.args
                if node.func.id == "_" and isinstance(args[0], ast.Constant):
                    found.add(args[0].value)
                elif node.func.id == "ngettext" and len(args) > 1 and all(
                        isinstance(a, ast.Constant) for a in args[:2]):
                    found.add(f"{args[0].value}\0{args[1].value}")
    return {m for m in found if not CLICK_INTERNAL.search(m)}


def test_clicks_own_messages_are_translated():
    missing = sorted(m for m in click_messages() if not ZH.get(m))
    assert not missing, f"click messages without zh_CN text: {missing}"


def test_check_reasons_are_marked_for_translation():
    """A reason written as a plain or f-string could not be translated."""
    offenders = []
    for path in sorted((PACKAGE / "checks").glob("*.py")) + [PACKAGE / "runner.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CheckResult":
                reason = node.args[2] if len(node.args) > 2 else next(
                    (k.value for k in node.keywords if k.arg == "reason"), None)
                if isinstance(reason, (ast.Constant, ast.JoinedStr)) and getattr(reason, "value", 1):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"wrap reasons in N_() with reason_args: {offenders}"


ALLOWED_LATIN = {"diagnose", "json", "yaml", "pppoe", "sudo", "debug", "zh_cn", "en", "dns",
                 "lang", "profile", "rules", "timeout", "login", "help", "version", "bogus",
                 "check", "list", "doc", "docs", "markdown", "md", "explain", "decode",
                 "mac", "pppoe", "sudo"}  # commands, formats, acronyms


@pytest.mark.parametrize("args", [["--help"], ["rules", "--help"], ["--bogus"], ["--timeout", "x"],
                                  ["--lang", "zh_CN", "rules", "check", "/nonexistent"]])
def test_chinese_locale_meets_no_english(monkeypatch, capsys, args):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    main(args)
    out, err = capsys.readouterr()
    prose = re.sub(r"--?[a-z][a-z-]*", "", out + err)        # option names stay as they are
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", prose)}
    commands = {name for group in (build_app(),) for name in group.commands} | set(
        build_app().commands["rules"].commands)         # command names are typed as they are
    assert words <= ALLOWED_LATIN | commands | {"nonexistent"}, words - ALLOWED_LATIN - commands
