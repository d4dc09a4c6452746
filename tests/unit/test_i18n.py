"""Every string a person reads exists in Simplified Chinese too."""
from __future__ import annotations

import ast
import gettext
import re
import string

import pytest
from babel.messages.pofile import read_po

from diagnose import catalog
from diagnose.cli import build_app, main
from diagnose.i18n import CHECK_NAMES, LOCALE_DIR
from diagnose.checks import BY_ID

from .i18n_extract import PACKAGE, marked_strings

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "diagnose.po"


def translated(po_path) -> dict[str, str]:
    """msgid -> msgstr of the entries gettext should see: translated and not fuzzy.
    A plural entry is keyed 'singular\\0plural', its forms joined by NUL."""
    with open(po_path, "rb") as source:
        messages = read_po(source)
    found = {}
    for message in messages:
        if message.id and message.string and not message.fuzzy:
            plural = isinstance(message.id, tuple)
            found["\0".join(message.id) if plural else message.id] = (
                "\0".join(message.string) if plural else message.string)
    return found


ZH = translated(PO)


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
    """Python's gettext is the referee: it finds exactly the .po's translations in the .mo."""
    with open(PO.with_suffix(".mo"), "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    singular = {key.split("\0")[0]: value.split("\0") for key, value in ZH.items()}
    found: dict[str, list[str]] = {}
    for key, value in compiled.items():
        if isinstance(key, tuple):
            found.setdefault(key[0], []).append(value)
        elif key:
            found[key] = [value]
    assert found == singular, "recompile: python -m diagnose.catalog"


def test_compiler_leaves_out_fuzzy_entries_and_keeps_contexts(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  '#, fuzzy\nmsgid "guess"\nmsgstr "猜的"\n\n'
                  'msgctxt "menu"\nmsgid "open"\nmsgstr "打开"\n\n'
                  'msgid "open"\nmsgstr "开着的"\n', encoding="utf-8")
    po.with_suffix(".mo").write_bytes(catalog.compile_po(po))
    with open(po.with_suffix(".mo"), "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert compiled.gettext("guess") == "guess"
    assert compiled.pgettext("menu", "open") == "打开"
    assert compiled.gettext("open") == "开着的"


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
