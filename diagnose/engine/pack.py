"""Loads and validates the YAML rule pack. A broken file is named with its line, never a traceback."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import sides, yamlfile
from ..errors import ConfigError
from ..model import CONFIDENCES, SEVERITIES, SIDES
from ..i18n import N_
from .conditions import ConditionError, KnownChecks, Node, parse, provided
from .derive import Derivation, DeriveError, parse_entry, with_derived

LANGS = ("en", "zh_CN")
RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Side letter and two digits; no 0/O or 1/I, so a code read aloud cannot be misheard.
CODE = re.compile(f"^{sides.CODE_PATTERN}$")
SIDE_LETTER = {side.name: side.letter for side in sides.ALL}
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\}")
_KEYS = {"id", "code", "side", "severity", "layer", "confidence", "verdict_only", "when", "title",
         "advice", "doc", "evidence"}
_REQUIRED = {"id", "code", "side", "severity", "layer", "when", "title", "advice", "doc"}


@dataclass(frozen=True)
class Rule:
    id: str
    code: str
    side: str
    severity: str
    layer: int
    when: Node
    title: dict[str, str]
    advice: dict[str, list[str]]
    doc: dict[str, dict[str, str]]   # lang -> {means, confirm}
    confidence: str = "high"
    verdict_only: bool = False
    evidence: tuple[str, ...] = ()
    source: str = ""
    raw_when: Any = field(default=None, compare=False)


def addresses_named(rules: list[Rule]) -> list[str]:
    """IPv4 addresses the rules' advice names (e.g. "set DNS to 223.5.5.5"): public knowledge."""
    texts = " ".join(line for rule in rules for lang in rule.advice for line in rule.advice[lang])
    return re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", texts)


def default_dir() -> Path:
    """The shipped pack: diagnose/rules when installed (package data), ../rules in a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "rules"
    return installed if installed.is_dir() else package.parent / "rules"


class RulePack(list):
    """The rules (a list, in file order) and the pack's derived facts (`derivations`, applied
    in file order before any rule is evaluated: diagnose/engine/derive.py)."""

    def __init__(self, rules=(), derivations=()):
        super().__init__(rules)
        self.derivations: list[Derivation] = list(derivations)


def load(path: str | Path | None, known_checks: KnownChecks) -> RulePack:
    """All rules from a directory of *.yaml files (sorted by name) or from one file.

    known_checks: the check ids, or {check id: the facts it provides} (checks.PROVIDES) to refuse
    rules naming a fact that no check produces. The pack's derivations are read first (from
    every file), so that rules anywhere may name the facts they derive."""
    path = Path(path) if path is not None else default_dir()
    if path.is_dir():
        files = sorted(path.glob("*.yaml"))
        if not files:
            raise ConfigError(N_("no *.yaml rule files here"), path=str(path))
    elif path.exists():
        files = [path]
    else:
        raise ConfigError(N_("rule file or directory not found"), path=str(path))
    documents = [(file, *_document(file)) for file in files]
    rules = RulePack(derivations=[
        _derivation(item, index, str(file), lines, known_checks)
        for file, data, lines in documents for index, item in enumerate(data) if _derives(item)])
    known = with_derived(known_checks, rules.derivations)
    seen_ids: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    for file, data, lines in documents:
        for rule in (_rule(item, index, str(file), lines, known)
                     for index, item in enumerate(data) if not _derives(item)):
            for kind, seen, value in (("id", seen_ids, rule.id), ("code", seen_codes, rule.code)):
                if value in seen:
                    raise ConfigError(f"{kind} '{value}' is already used in {seen[value]}",
                                      path=rule.source.rsplit(":", 1)[0],
                                      line=int(rule.source.rsplit(":", 1)[1]), key=kind)
                seen[value] = rule.source
            rules.append(rule)
    return rules


def load_file(file: Path, known_checks: KnownChecks) -> RulePack:
    return load(file, known_checks)


def _document(file: Path):
    data, lines = yamlfile.read(str(file))
    if not isinstance(data, list):
        raise ConfigError(N_("a rule file is a list of rules"), path=str(file), line=1)
    return data, lines


def _derives(item: Any) -> bool:
    return isinstance(item, dict) and "derive" in item


def _derivation(raw: dict, index: int, file: str, lines, known_checks) -> Derivation:
    line = yamlfile.line_of(lines, (index,))
    try:
        return parse_entry(raw, known_checks, source=f"{file}:{line}")
    except DeriveError as exc:
        at = yamlfile.line_of(lines, (index, *exc.where)) if exc.where else line
        raise ConfigError(f"derive {raw.get('derive')}: {exc}", path=file, line=at,
                          key=".".join(map(str, exc.where)) or None) from None


def _rule(raw: Any, index: int, file: str, lines, known_checks: KnownChecks) -> Rule:
    line = yamlfile.line_of(lines, (index,))

    def fail(message: str, key: str | None = None, subpath: tuple = ()) -> ConfigError:
        at = yamlfile.line_of(lines, (index, key, *subpath)) if key else line
        return ConfigError(message, path=file, line=at, key=key and ".".join(map(str, (key, *subpath))))

    if not isinstance(raw, dict):
        raise fail("each rule is a mapping")
    unknown = set(raw) - _KEYS
    if unknown:
        raise fail(f"unknown key; expected some of: {', '.join(sorted(_KEYS))}",
                   sorted(unknown, key=str)[0])
    missing = _REQUIRED - set(raw)
    if missing:
        raise fail(f"missing required key(s): {', '.join(sorted(missing))}")
    if not isinstance(raw["id"], str) or not RULE_ID.match(raw["id"]):
        raise fail("id must be kebab-case, e.g. cable-unplugged", "id")
    if raw["side"] not in SIDES:
        raise fail(f"side must be one of: {', '.join(SIDES)}", "side")
    if not isinstance(raw["code"], str) or not CODE.match(raw["code"]):
        raise fail("code must be a side letter and two digits 2-9, e.g. L23", "code")
    if raw["code"][0] != SIDE_LETTER[raw["side"]]:
        raise fail(f"code must start with {SIDE_LETTER[raw['side']]} for side {raw['side']}", "code")
    if raw["severity"] not in SEVERITIES:
        raise fail(f"severity must be one of: {', '.join(SEVERITIES)}", "severity")
    if not isinstance(raw["layer"], int) or isinstance(raw["layer"], bool) or not 1 <= raw["layer"] <= 9:
        raise fail("layer must be a whole number from 1 (adapter) to 9 (applications)", "layer")
    confidence = raw.get("confidence", "high")
    if confidence not in CONFIDENCES:
        raise fail(f"confidence must be one of: {', '.join(CONFIDENCES)}", "confidence")
    if not isinstance(raw.get("verdict_only", False), bool):
        raise fail("verdict_only must be true or false", "verdict_only")
    title = _texts(raw["title"], str, fail, "title")
    advice = _texts(raw["advice"], list, fail, "advice")
    doc = _texts(raw["doc"], dict, fail, "doc")
    evidence = raw.get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(e, str) and e.split(".")[0] in known_checks
                                                 for e in evidence):
        raise fail("evidence is a list of CHECK.PATH facts", "evidence")
    for number, path in enumerate(evidence):
        if not provided(path, known_checks):
            raise fail(f"no check provides '{path}'", "evidence", (number,))
    for lang in LANGS:
        for text in [title[lang], *advice[lang]]:
            for ref in PLACEHOLDER.findall(text):
                if ref.split(".")[0] not in known_checks:
                    raise fail(f"placeholder {{{ref}}} names no check", "title")
                if not provided(ref, known_checks):
                    raise fail(f"placeholder {{{ref}}}: no check provides that fact", "title")
    try:
        when = parse(raw["when"], known_checks)
    except ConditionError as exc:
        raise fail(f"bad condition: {exc}", "when", exc.where) from None
    return Rule(id=raw["id"], code=raw["code"], side=raw["side"], severity=raw["severity"],
                layer=raw["layer"], when=when, title=title, advice=advice,
                doc=doc, confidence=confidence,
                verdict_only=raw.get("verdict_only", False), evidence=tuple(evidence),
                source=f"{file}:{line}", raw_when=raw["when"])


DOC_PARTS = ("means", "confirm")
_SHAPES = {
    str: ("text", lambda v: isinstance(v, str) and v.strip()),
    list: ("a list of texts",
           lambda v: isinstance(v, list) and v and all(isinstance(i, str) and i.strip() for i in v)),
    dict: ("'means' and 'confirm' texts",
           lambda v: isinstance(v, dict) and set(v) == set(DOC_PARTS)
           and all(isinstance(v[p], str) and v[p].strip() for p in DOC_PARTS)),
}


def _texts(raw: Any, kind: type, fail, key: str) -> dict:
    """{en: ..., zh_CN: ...}, each of the given shape."""
    if not isinstance(raw, dict):
        raise fail(f"{key} needs a text for each language: {', '.join(LANGS)}", key)
    shape, valid = _SHAPES[kind]
    for lang in LANGS:
        value = raw.get(lang)
        if not valid(value):
            raise fail(f"{key} lacks its {lang} text" if value is None else
                       f"{key}.{lang} must be {shape}", key, (lang,))
    extra = set(raw) - set(LANGS)
    if extra:
        raise fail(f"unknown language '{sorted(extra, key=str)[0]}'; expected: {', '.join(LANGS)}", key)
    return {lang: raw[lang] for lang in LANGS}
