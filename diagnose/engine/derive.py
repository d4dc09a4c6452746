"""Derived facts: conclusions the rule pack draws from observed facts before its rules judge.

A check reports what it saw; when several observations must be weighed to say one thing (where
a PPPoE dial-up stops, by the strongest evidence), a rule file says how, next to the rules that
read it:

    - derive: pppoe                 # the check whose facts it concludes from and adds to
      doc: Where the dial-up stops ...
      first:                        # the first case whose condition holds sets the facts
        - when: {fact: pppoe.session_up, is: true}
          set: {stage: up, stage_source: interfaces}
        - when: {fact: pppoe.login.outcome, is: auth_refused}
          set: {stage: {fact: pppoe.login.outcome}, step: {fact: pppoe.login.step}}
      map:                          # then facts looked up in a table, by a derived fact
        windows_error: {by: stage, table: {no_pado: 678, auth_refused: 691}}

A value in `set` is a literal, or {fact: PATH} (or a list of paths: the first observed, not
null) copied from the observations. A table fills a fact the case left null (an observed
number wins over the usual one). Every fact a derivation names is set: null where no case
or no table entry applies. Derived facts never touch the network and never enter the check's
own facts in the report; rules, titles and evidence read them as CHECK.FACT like the others.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ..model import CheckResult
from .conditions import MISSING, ConditionError, KnownChecks, Node, evaluate, lookup, parse, provided

KEYS = {"derive", "doc", "first", "map"}
_FACT_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_"


@dataclass(frozen=True)
class Case:
    when: Node
    values: tuple[tuple[str, Any], ...]   # fact name -> literal, or a tuple of fact paths


@dataclass(frozen=True)
class Derivation:
    check: str
    doc: str
    cases: tuple[Case, ...]
    tables: tuple[tuple[str, str, tuple[tuple[Any, Any], ...]], ...]   # fact, by, table
    source: str = ""

    @property
    def facts(self) -> tuple[str, ...]:
        """Every fact this derivation sets, in order of first mention."""
        names = [name for case in self.cases for name, _ in case.values]
        names += [fact for fact, _, _ in self.tables]
        return tuple(dict.fromkeys(names))


class DeriveError(ValueError):
    def __init__(self, message: str, where: tuple = ()):
        super().__init__(message)
        self.where = where


def parse_entry(raw: dict, known_checks: KnownChecks, source: str = "") -> Derivation:
    """A `derive:` entry of a rule file; DeriveError (with where in the entry) when malformed."""
    unknown = set(raw) - KEYS
    if unknown:
        raise DeriveError(f"unknown key; expected some of: {', '.join(sorted(KEYS))}",
                          (sorted(unknown)[0],))
    check = raw.get("derive")
    if check not in known_checks:
        raise DeriveError(f"derive names the check whose facts it adds to; unknown: {check!r}",
                          ("derive",))
    if not isinstance(raw.get("doc"), str) or not raw["doc"].strip():
        raise DeriveError("doc: say what the derived facts mean", ("doc",))
    cases = []
    first = raw.get("first", [])
    if not isinstance(first, list):
        raise DeriveError("first is a list of cases: {when: CONDITION, set: {FACT: VALUE}}",
                          ("first",))
    for index, item in enumerate(first):
        where = ("first", index)
        if not isinstance(item, dict) or set(item) != {"when", "set"} or not isinstance(
                item["set"], dict):
            raise DeriveError("a case is {when: CONDITION, set: {FACT: VALUE}}", where)
        try:
            when = parse(item["when"], known_checks)
        except ConditionError as exc:
            raise DeriveError(f"bad condition: {exc}", where + ("when", *exc.where)) from None
        values = []
        for name, value in item["set"].items():
            _fact_name(name, where + ("set",))
            values.append((name, _value(value, known_checks, where + ("set", name))))
        cases.append(Case(when, tuple(values)))
    tables = []
    mapping = raw.get("map", {})
    if not isinstance(mapping, dict):
        raise DeriveError("map is {FACT: {by: FACT, table: {VALUE: VALUE}}}", ("map",))
    for name, spec in mapping.items():
        where = ("map", name)
        _fact_name(name, where)
        if not isinstance(spec, dict) or set(spec) != {"by", "table"} or not isinstance(
                spec["table"], dict):
            raise DeriveError("a mapped fact is {by: FACT, table: {VALUE: VALUE}}", where)
        tables.append((name, spec["by"], tuple(spec["table"].items())))
    if not cases and not tables:
        raise DeriveError("a derivation needs cases (first) or tables (map)")
    derivation = Derivation(check, raw["doc"], tuple(cases), tuple(tables), source)
    for name, by, _ in tables:
        if by not in derivation.facts[:derivation.facts.index(name)]:
            raise DeriveError(f"map.{name}.by names a fact derived before it", ("map", name, "by"))
    return derivation


def _fact_name(name: Any, where: tuple) -> None:
    if not isinstance(name, str) or not name or not set(name) <= set(_FACT_NAME):
        raise DeriveError(f"a derived fact is named in lower case, e.g. stage: {name!r}", where)


def _value(value: Any, known_checks: KnownChecks, where: tuple) -> Any:
    if isinstance(value, dict):
        paths = value.get("fact")
        paths = [paths] if isinstance(paths, str) else paths
        if set(value) != {"fact"} or not isinstance(paths, list) or not paths or not all(
                isinstance(p, str) and p.split(".")[0] in known_checks and "." in p
                for p in paths):
            raise DeriveError("a value is a literal or {fact: CHECK.PATH} (or a list of paths)",
                              where)
        unknown = next((p for p in paths if not provided(p, known_checks)), None)
        if unknown:
            raise DeriveError(f"no check provides '{unknown}'", where)
        return tuple(paths)
    if isinstance(value, list):
        raise DeriveError("a value is a literal or {fact: CHECK.PATH}", where)
    return value


def with_derived(known_checks: KnownChecks, derivations) -> KnownChecks:
    """What rules may name: the checks' own facts and the facts the derivations add to them."""
    if not isinstance(known_checks, Mapping):
        return known_checks
    known = dict(known_checks)
    for derivation in derivations:
        if known.get(derivation.check) is not None:
            known[derivation.check] = tuple(dict.fromkeys((*known[derivation.check],
                                                           *derivation.facts)))
    return known


def apply(derivations, results: Mapping[str, CheckResult]) -> dict[str, CheckResult]:
    """The results as the rules see them: each derivation's facts added to its check's facts
    (a copy; the observed results are never changed). A check that did not run gets none."""
    seen = dict(results)
    for derivation in derivations:
        observed = seen.get(derivation.check)
        if observed is None:
            continue
        derived: dict[str, Any] = dict.fromkeys(derivation.facts)
        case = next((c for c in derivation.cases if evaluate(c.when, seen, {}) is True), None)
        for name, value in case.values if case else ():
            derived[name] = _resolve(value, seen)
        for name, by, table in derivation.tables:
            if derived[name] is None:
                derived[name] = next((to for key, to in table if key == derived[by]), None)
        seen[derivation.check] = dataclasses.replace(observed, facts={**observed.facts, **derived})
    return seen


def _resolve(value: Any, results: Mapping[str, CheckResult]) -> Any:
    if not isinstance(value, tuple):
        return value
    for path in value:
        found = lookup(results, path)
        if found is not MISSING and found is not None:
            return found
    return None
