"""Every check declares the facts it provides (CheckSpec.provides); a rule naming a fact no check
produces could never fire, so `rules check` refuses it (exit 78)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from diagnose import profile
from diagnose.checks import ALL, BY_ID, PROVIDES
from diagnose.context import Context
from diagnose.diagnosis import select
from diagnose.engine import pack
from diagnose.engine.conditions import provided
from diagnose.engine.derive import with_derived
from diagnose.errors import ConfigError
from diagnose.exit_codes import ExitCode
from diagnose.runner import Runner
from tests.unit.facts import HEALTHY

from ._cli import assert_refused, diagnose
from .test_input_rules import VALID

CASES = Path(__file__).resolve().parents[1] / "unit" / "rule_cases"


def fact_paths(facts: dict, prefix: str = ""):
    """Every key path of a facts tree (mappings are walked, lists and values are leaves)."""
    for key, value in facts.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from fact_paths(value, path + ".")


def fixture_facts():
    yield "healthy", HEALTHY
    for file in sorted(CASES.glob("*.yaml")):
        for rule, case in yaml.safe_load(file.read_text()).items():
            for kind in ("fires", "silent"):
                yield f"{file.name}:{rule}:{kind}", case.get(kind) or {}


def test_every_check_declares_what_it_provides():
    undeclared = [spec.id for spec in ALL if spec.provides is None]
    assert not undeclared, f"add provides=(...) to the CheckSpec of: {undeclared}"
    for spec in ALL:
        assert len(set(spec.provides)) == len(spec.provides), spec.id
        assert all(isinstance(fact, str) and fact and not fact.startswith(spec.id + ".")
                   for fact in spec.provides), spec.id


def test_the_unit_fixtures_carry_only_declared_facts():
    stray = {(where, f"{check}.{path}") for where, checks in fixture_facts()
             for check, facts in checks.items() if isinstance(facts, dict)
             for path in fact_paths(facts) if not provided(f"{check}.{path}", PROVIDES)}
    assert not stray, sorted(stray)


def test_local_checks_observing_this_machine_report_only_declared_facts():
    """The checks that observe without the network, run for real on this machine."""
    local = ("route", "interfaces", "addressing", "wifi", "ipv6")
    chosen, _ = select(ALL, local, ())
    loaded = profile.load(None)
    results = Runner(chosen, lambda deadline, results: Context(
        profile=loaded, privileged=False, deadline=deadline, results=results), 5.0).run()
    for check_id in local:
        stray = [path for path in fact_paths(results[check_id].facts)
                 if not provided(f"{check_id}.{path}", PROVIDES)]
        assert not stray, (check_id, stray)


def test_the_shipped_pack_uses_only_declared_facts():
    rules = pack.load(None, PROVIDES)
    named = {path for rule in rules for path in rule.evidence}
    known = with_derived(PROVIDES, rules.derivations)   # and the facts the pack derives
    assert named and all(provided(path, known) for path in named)
    ran = diagnose("rules", "check")
    assert ran.code == ExitCode.NO_FAULT, ran.stderr


@pytest.mark.parametrize("change, key, fact", [
    ({"when": {"fact": "gateway.reachible", "is": False}}, "when.fact", "gateway.reachible"),
    ({"when": {"any": [{"fact": "router.conected", "is": True}, {"always": True}]}},
     "when.any.0.fact", "router.conected"),
    ({"evidence": ["gateway.adress"]}, "evidence.0", "gateway.adress"),
    ({"title": {"en": "Router {gateway.adress}", "zh_CN": "路由器"}}, "title", "gateway.adress"),
])
def test_a_rule_on_a_fact_no_check_produces_fails_rules_check(tmp_path, change, key, fact):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump([{**VALID, **change}], allow_unicode=True))
    with pytest.raises(ConfigError) as caught:
        pack.load(path, PROVIDES)
    assert caught.value.key == key and fact in caught.value.message
    pack.load(path, set(BY_ID))   # the check ids alone do not know the facts
    ran = diagnose("--rules", str(path), "rules", "check")
    assert_refused(ran, ExitCode.CONFIG, str(path), fact)


@pytest.mark.parametrize("path, ok", [
    ("line_quality.gateway.max_rtt_ms", True),    # below a declared mapping
    ("addressing.dhcp_probe.outcome", True), ("router.link", True), ("router.links", False),
    ("router", False), ("nosuch.fact", False),
])
def test_what_counts_as_provided(path, ok):
    assert provided(path, PROVIDES) is ok
    assert provided("newcheck.anything", {"newcheck": None})   # undeclared: trusted
