"""The shipped rule pack: catalogue guard, per-rule fixtures, and the docs kept in step."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from diagnose.checks import BY_ID
from diagnose.engine import derive, judge, pack
from diagnose.engine.conditions import evaluate
from diagnose.render import rule_reference

from .facts import results as observed_results

ROOT = Path(__file__).resolve().parents[2]
RULES = pack.load(ROOT / "rules", set(BY_ID))
# Per topic, tests/unit/rule_cases/*.yaml: for each rule, facts that fire it (`fires`, and any
# further `fires_<how>`) and a near miss;
# `fires_status` sets check statuses for a rule about a check's status.
CASES = {rule: case for path in sorted((Path(__file__).parent / "rule_cases").glob("*.yaml"))
         for rule, case in yaml.safe_load(path.read_text()).items()}
RULE_COUNT = 50  # the catalogue's size: a rule added or lost must show up here
AMBIGUOUS = set("01IO")


def results(facts=None, statuses=None):
    """Observed results as the rules see them: with the pack's derived facts."""
    return derive.apply(RULES.derivations, observed_results(facts, statuses))


def test_catalogue_ids_codes_and_languages():
    assert len(RULES) == len({r.id for r in RULES}) == len({r.code for r in RULES}) == RULE_COUNT
    for rule in RULES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule.id)
        assert not AMBIGUOUS & set(rule.code), rule.code
        assert rule.code[0] == pack.SIDE_LETTER[rule.side]
        for lang in pack.LANGS:
            assert rule.title[lang].strip() and all(a.strip() for a in rule.advice[lang])
        # Chinese texts really are Chinese, not a copy of the English.
        assert re.search(r"[\u4e00-\u9fff]", rule.title["zh_CN"]), rule.id
        assert re.search(r"[\u4e00-\u9fff]", rule.doc["zh_CN"]["means"]), rule.id


def test_every_rule_has_fixtures():
    assert set(CASES) == {r.id for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fires_and_stays_silent(rule):
    case = CASES[rule.id]
    assert evaluate(rule.when, results(case["fires"], case.get("fires_status")), {}) is True
    for key in sorted(k for k in case if k.startswith("fires_") and k != "fires_status"):
        assert evaluate(rule.when, results(case[key]), {}) is True, key   # further ways it fires
    if case["silent"] is not None:
        assert evaluate(rule.when, results(case["silent"]), {}) is not True


@pytest.mark.parametrize("rule", [r for r in RULES if r.severity == "fault"], ids=lambda r: r.id)
def test_unobserved_facts_never_fire_a_fault(rule):
    """The fault's own checks timed out: the rule must not fire on what was not seen."""
    case = CASES[rule.id]
    checks = {path.split(".")[0] for path in _fact_paths(rule.raw_when)}
    failing = {check: "timeout" for check in checks}
    assert evaluate(rule.when, results(case["fires"], failing), {}) is not True


def _fact_paths(raw):
    if isinstance(raw, dict):
        if "fact" in raw:
            yield raw["fact"]
        for value in raw.values():
            yield from _fact_paths(value)
    elif isinstance(raw, list):
        for item in raw:
            yield from _fact_paths(item)


def test_placeholders_filled_in_both_languages():
    for rule in RULES:
        observed = results(CASES[rule.id]["fires"])
        for lang in pack.LANGS:
            for text in [rule.title[lang], *rule.advice[lang]]:
                assert "{" not in judge.fill(text, observed), (rule.id, text)


def test_docs_rule_reference_is_current():
    assert (ROOT / "docs" / "rules.md").read_text() == rule_reference.render(RULES), \
        "regenerate: python -m diagnose rules doc > docs/rules.md"
