"""Every rule in the pack has a fault-lab scenario that triggers it."""
from diagnose.checks import BY_ID
from diagnose.engine import pack
from tests.lab.scenarios import SCENARIOS, rules_covered


def test_every_rule_has_a_lab_scenario():
    assert rules_covered() == {rule.id for rule in pack.load(None, set(BY_ID))}


def test_scenario_names_are_unique():
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
