"""The rule condition language: structured YAML, evaluated in three values (True, False, None).

None means "not observed" (the check was skipped, failed or timed out, or the fact is absent):
a comparison with an unobserved fact is None, and a rule fires only on True. `exists` is the one
question about absence itself: `unobserved_basis` names the unobserved facts a value rests on, so
a verdict that assumes "not there" where it could only say "not seen" says so (engine/judge.py).

    all: [COND, ...]          any: [COND, ...]          not: COND          always: true
    fact: CHECK.PATH   with one of   is: VALUE | in: [VALUES] | lt|le|gt|ge: NUMBER | exists: BOOL
    check: CHECK       with          status: STATUS | [STATUS, ...]
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from ..model import CheckResult, Status

MISSING = object()
# The check ids, or {check id: the facts it declares, or None} (checks.PROVIDES).
KnownChecks = Collection[str] | Mapping[str, tuple[str, ...] | None]
FACT_PATH = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
FACT_OPERATORS = ("is", "in", "exists", *_COMPARE)
STATUSES = tuple(s.value for s in Status)
MAX_DEPTH = 24   # conditions inside conditions; the shipped pack needs 4 (YAML allows 32 levels)
_SCALAR = (str, int, float, bool, type(None))


class ConditionError(ValueError):
    def __init__(self, message: str, where: tuple = ()):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Node:
    op: str
    args: tuple = ()
    fact: str | None = None
    value: Any = None


def parse(raw: Any, known_checks: KnownChecks, where: tuple = ()) -> Node:
    if sum(step in ("all", "any", "not") for step in where) > MAX_DEPTH:
        raise ConditionError(f"conditions are nested deeper than {MAX_DEPTH} levels", where)
    if not isinstance(raw, dict) or not raw:
        raise ConditionError("a condition must be a mapping", where)
    odd = next((key for key in raw if not isinstance(key, str)), "")
    if odd != "":
        raise ConditionError(f"condition keys are words, not {type(odd).__name__} ({odd!r:.20})", where)
    keys = set(raw)
    if keys == {"all"} or keys == {"any"}:
        op = next(iter(keys))
        items = raw[op]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"'{op}' takes a non-empty list", where + (op,))
        return Node(op, tuple(parse(item, known_checks, where + (op, i)) for i, item in enumerate(items)))
    if keys == {"not"}:
        return Node("not", (parse(raw["not"], known_checks, where + ("not",)),))
    if keys == {"always"}:
        if raw["always"] is not True:
            raise ConditionError("'always' takes true", where + ("always",))
        return Node("always")
    if "fact" in keys:
        return _parse_fact(raw, keys - {"fact"}, known_checks, where)
    if "check" in keys:
        if keys != {"check", "status"}:
            raise ConditionError("'check' goes with 'status' and nothing else", where)
        statuses = raw["status"] if isinstance(raw["status"], list) else [raw["status"]]
        bad = [s for s in statuses if not isinstance(s, str) or s not in STATUSES]
        if bad or not statuses:
            raise ConditionError(f"status must be among {', '.join(STATUSES)}", where + ("status",))
        if not isinstance(raw["check"], str) or raw["check"] not in known_checks:
            raise ConditionError(f"unknown check '{raw['check']}'"[:100], where + ("check",))
        return Node("status", fact=raw["check"], value=tuple(statuses))
    raise ConditionError(f"unknown condition keys: {', '.join(sorted(map(str, keys)))}", where)


def _parse_fact(raw: dict, ops: set, known_checks: KnownChecks, where: tuple) -> Node:
    path = raw["fact"]
    if not isinstance(path, str) or not FACT_PATH.match(path):
        raise ConditionError("'fact' must be CHECK.PATH, e.g. gateway.reachable", where + ("fact",))
    if path.split(".", 1)[0] not in known_checks:
        raise ConditionError(f"unknown check '{path.split('.', 1)[0]}'", where + ("fact",))
    if not provided(path, known_checks):
        raise ConditionError(f"no check provides '{path}': the rule could never fire", where + ("fact",))
    if len(ops) != 1 or not ops <= set(FACT_OPERATORS):
        raise ConditionError(f"'fact' takes exactly one of: {', '.join(FACT_OPERATORS)}", where)
    op = ops.pop()
    value = raw[op]
    if op == "in" and (not isinstance(value, list) or not all(isinstance(v, _SCALAR) for v in value)):
        raise ConditionError("'in' takes a list of single values", where + (op,))
    if op in _COMPARE and (not isinstance(value, (int, float)) or isinstance(value, bool)
                           or not math.isfinite(value)):
        raise ConditionError(f"'{op}' takes a finite number", where + (op,))
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError("'exists' takes true or false", where + (op,))
    if op == "is" and not isinstance(value, _SCALAR):
        raise ConditionError("'is' takes a single value; use 'in' for a list", where + (op,))
    return Node(op, fact=path, value=tuple(value) if op == "in" else value)


def provided(path: str, known_checks: KnownChecks) -> bool:
    """Whether CHECK.PATH is a fact its check declares (CheckSpec.provides): the path itself, one
    below a declared path, or a mapping above one. A check that declares nothing is trusted."""
    check_id, _, rest = path.partition(".")
    if check_id not in known_checks:
        return False
    declared = known_checks.get(check_id) if isinstance(known_checks, Mapping) else None
    if declared is None:
        return True
    return any(rest == fact or rest.startswith(fact + ".") or fact.startswith(rest + ".")
               for fact in declared)


def lookup(results: Mapping[str, CheckResult], path: str) -> Any:
    check_id, *keys = path.split(".")
    result = results.get(check_id)
    if result is None or result.status in (Status.ERROR, Status.TIMEOUT):
        return MISSING
    value: Any = result.facts
    for key in keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value


def evaluate(node: Node, results: Mapping[str, CheckResult], seen: dict[str, Any]) -> bool | None:
    """Three-valued result; every fact looked at is recorded in `seen` as evidence."""
    if node.op == "always":
        return True
    if node.op in ("all", "any"):
        values = [evaluate(child, results, seen) for child in node.args]
        decisive = node.op == "any"           # any: True decides; all: False decides
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if node.op == "not":
        value = evaluate(node.args[0], results, seen)
        return None if value is None else not value
    if node.op == "status":
        result = results.get(node.fact)
        seen[f"{node.fact}.status"] = result.status.value if result else None
        return result is not None and result.status.value in node.value
    value = lookup(results, node.fact)
    seen[node.fact] = None if value is MISSING else value
    if node.op == "exists":
        return (value is not MISSING and value is not None) == node.value
    if value is MISSING:
        return None
    if node.op == "is":
        return value == node.value and isinstance(value, bool) == isinstance(node.value, bool)
    if node.op == "in":
        return value in node.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return _COMPARE[node.op](value, node.value)


def unobserved_basis(node: Node, results: Mapping[str, CheckResult]) -> set[str]:
    """The facts that were not observed and whose absence the node's value rests on.

    Only `exists` asks about absence: `{fact: X, exists: false}` is true, and `exists: true`
    false, when X was never read (its check skipped, failed or timed out, or X absent or null),
    which may mean "not there" or only "not seen". A value decided some other way as well (another
    child of an `any` that is true on observed facts) rests on nothing unobserved."""
    value, basis = _basis(node, results)
    return set(basis) if value is not None else set()


def _basis(node: Node, results) -> tuple[bool | None, frozenset]:
    if node.op in ("all", "any"):
        parts = [_basis(child, results) for child in node.args]
        values = [value for value, _ in parts]
        decisive = node.op == "any"
        if decisive in values:   # one deciding child is enough: the one resting on least
            return decisive, min((b for v, b in parts if v is decisive), key=len)
        if None in values:
            return None, frozenset()
        return not decisive, frozenset().union(*(b for _, b in parts))
    if node.op == "not":
        value, basis = _basis(node.args[0], results)
        return (None if value is None else not value), basis
    value = evaluate(node, results, {})
    if node.op == "exists":
        found = lookup(results, node.fact)
        if found is MISSING or found is None:
            return value, frozenset({node.fact})
    return value, frozenset()
