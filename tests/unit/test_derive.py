"""Derived facts in the rule pack (diagnose/engine/derive.py): parsing, errors, evaluation."""
from __future__ import annotations

import pytest
import yaml

from diagnose.checks import BY_ID
from diagnose.engine import derive, pack
from diagnose.errors import ConfigError
from diagnose.model import CheckResult, Status

ENTRY = {"derive": "gateway", "doc": "How the gateway answers.",
         "first": [{"when": {"fact": "gateway.answers_ping", "is": True},
                    "set": {"way": "ping", "address": {"fact": "gateway.address"}}},
                   {"when": {"fact": "gateway.answers_tcp", "is": True},
                    "set": {"way": "tcp", "address": {"fact": ["gateway.none", "gateway.address"]}}}],
         "map": {"cost": {"by": "way", "table": {"ping": 1, "tcp": 2}}}}


def seen(facts, status=Status.OK):
    derivation = derive.parse_entry(ENTRY, set(BY_ID))
    return derive.apply([derivation], {"gateway": CheckResult(status, facts)})["gateway"].facts


def test_first_case_wins_and_tables_follow():
    assert seen({"answers_ping": True, "answers_tcp": True, "address": "192.168.1.1"}) == {
        "answers_ping": True, "answers_tcp": True, "address": "192.168.1.1", "way": "ping",
        "cost": 1}
    facts = seen({"answers_ping": False, "answers_tcp": True, "address": "10.0.0.1"})
    assert (facts["way"], facts["address"], facts["cost"]) == ("tcp", "10.0.0.1", 2)


def test_no_case_leaves_every_derived_fact_null():
    facts = seen({"answers_ping": False, "answers_tcp": False})
    assert facts["way"] is None and facts["cost"] is None and facts["address"] is None


def test_observed_results_are_never_changed():
    observed = {"gateway": CheckResult(Status.OK, {"answers_ping": True})}
    derive.apply([derive.parse_entry(ENTRY, set(BY_ID))], observed)
    assert observed["gateway"].facts == {"answers_ping": True}


@pytest.mark.parametrize("change, words", [
    ({"derive": "no_such_check"}, "unknown"),
    ({"doc": ""}, "doc"),
    ({"first": [{"when": {"fact": "gateway.x", "is": True}}]}, "a case is"),
    ({"first": [{"when": {"fact": "no_such_check.x", "is": True}, "set": {"a": 1}}]}, "bad condition"),
    ({"first": [{"when": {"always": True}, "set": {"A b": 1}}]}, "lower case"),
    ({"first": [{"when": {"always": True}, "set": {"a": {"fact": "no_such_check.x"}}}]}, "CHECK.PATH"),
    ({"map": {"cost": {"by": "nothing", "table": {}}}}, "derived before"),
    ({"colour": 1}, "unknown key"),
])
def test_a_broken_derivation_is_named_with_file_and_line(tmp_path, change, words):
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump([{**ENTRY, **change}]))
    with pytest.raises(ConfigError) as caught:
        pack.load(path, set(BY_ID))
    assert words in str(caught.value) and caught.value.path == str(path)
    assert caught.value.line is not None


def test_the_shipped_pack_derives_the_pppoe_stage():
    derivations = pack.load(None, set(BY_ID)).derivations
    assert [d.check for d in derivations] == ["pppoe"]
    assert {"stage", "windows_error"} <= set(derivations[0].facts)
