"""Every string a person reads exists in Simplified Chinese too."""
from __future__ import annotations

import ast
import functools
import gettext
import re
import string

import pytest

from diagnose import catalog
from diagnose.cli import build_app, main
from diagnose.i18n import CHECK_NAMES, LOCALE_DIR
from diagnose.checks import BY_ID

from diagnose import diagnosis

from .i18n_extract import PACKAGE, marked_strings
from .screen_driver import BROKEN_LINE, stand_ins

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "diagnose.po"


ZH = catalog.parse_po(PO.read_text(encoding="utf-8"))   # Babel reads it


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


# Latin words a Chinese screen may show: proper names, acronyms and formats that Chinese text
# uses as they are. Codes, commands, options, rule ids, file names and `quoted commands` are
# taken out before the words are counted.
PROPER_NAMES = {"pppoe", "dns", "ipv", "ip", "wi", "fi", "windows", "mac", "json", "yaml",
                "markdown", "url", "http", "https", "dhcp", "wan", "lan", "mtu", "isp", "ping",
                "nxdomain", "zh_cn", "en", "sudo", "upnp", "ssid", "rssi", "ac", "id", "linux", "x", "mesh",
                "hosts"}  # hosts: the name of the file on every system


@functools.cache
def typed_words() -> frozenset[str]:
    """Commands, check ids (--only dns) and rule ids: what a person types, in any language."""
    from diagnose.engine import pack
    app = build_app()
    return frozenset(set(app.commands) | set(app.commands["rules"].commands) | set(BY_ID)
                     | {rule.id for rule in pack.load(None, set(BY_ID))})


def latin_words(text: str) -> set[str]:
    commands = typed_words()
    text = re.sub(r"(?m)^ {6}\w+: ", " ", text)                # fact names in -v
    text = re.sub(r'"[a-z0-9_.:-]*"|\b(?:true|false|null)\b', " ", text)  # data in facts
    prose = re.sub(r"`[^`]*`"                                 # quoted commands
                   r"|https?://\S+|(?:/[\w.-]+)+"               # addresses, paths
                   r"|--?[a-z][a-z-]*"                         # options
                   r"|\b[A-Z]\d\d\b|\b[0-9A-Z]{4}(?:-[0-9A-Z]{1,4})+\b"   # codes, digests
                   r"|\b[a-z0-9]+(?:[-_.][a-z0-9]+)+\b"          # rule ids, file names
                   r"|\bdiagnose(?: \w+)?"                       # the commands
                   r"|\b[A-Z][A-Z0-9_]+\b"                       # acronyms, constants (LCP, TCP)
                   r"|\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b"          # names of programs and APIs
                   r"|\b[A-Z]{2,}[a-z][A-Za-z]*\b"               # (NetworkManager, WANIPConnection)
                   r"|\b[A-Z][a-z]+(?:-[A-Z][a-z]*)+\b"          # protocol tags (Host-Uniq)
                   r"|\b(?:dBm|GHz|MHz|KiB|MiB|ms)\b", " ", text)  # units
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z_]*", prose)}
    return words - PROPER_NAMES - commands - {"nonexistent", "nosuch", "dnss", "docs"}  # typed


def screens():
    """Every screen this CLI shows, by the arguments that show it."""
    from diagnose.checks import BY_ID
    from diagnose.engine import pack
    codes = [rule.code for rule in pack.load(None, set(BY_ID))]
    app = build_app()
    helps = [["--help"], *[[name, "--help"] for name in app.commands],
             *[["rules", name, "--help"] for name in app.commands["rules"].commands]]
    errors = [["--bogus"], ["--timeout", "x"], ["--timeout", "0.1"], ["--jsn"], ["nosuch"],
              ["explain"], ["explain", "Q99"], ["decode", "not-a-digest"], ["history", "--days", "0"],
              ["--lang", "zh_CN", "rules", "check", "/nonexistent"], ["--only", "dnss"]]
    runs = [[], ["-v"], ["-q"]]                     # a run (with stand-in checks: a broken line)
    return helps + errors + runs + [["rules", "list"], ["history"],
                                    *[["explain", code] for code in codes]]


@pytest.mark.parametrize("args", screens(), ids=" ".join)
def test_chinese_locale_meets_no_english(monkeypatch, capsys, tmp_path, args):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("DIAGNOSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setattr(diagnosis, "ALL", stand_ins(BROKEN_LINE))
    main(args)
    out, err = capsys.readouterr()
    assert not latin_words(out + err), out + err


def test_phone_guide_names_the_checks_as_the_screen_does():
    guide = (PACKAGE.parent / "docs" / "phone-guide.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", guide, re.M))
    assert rows == {(cid, name, ZH[name]) for cid, name in CHECK_NAMES.items()}
