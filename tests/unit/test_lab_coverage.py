"""Every rule in the pack has a fault-lab scenario that triggers it."""
from diagnose.checks import BY_ID
from diagnose.engine import pack
from tests.lab.scenarios import SCENARIOS, rules_covered

# Rules this machine's kernel cannot produce in the lab, with the reason; their unit fixtures
# (tests/unit/rule_cases) and the check's parsing tests carry them instead.
CANNOT_BE_BUILT = {
    "wifi-weak-signal": "no Wi-Fi adapter can exist in a namespace here: the kernel has no "
                        "mac80211_hwsim (../shared/lab-notes.md), and a faked /proc would prove "
                        "nothing",
}


def test_every_rule_has_a_lab_scenario():
    covered = rules_covered()
    assert covered | set(CANNOT_BE_BUILT) == {rule.id for rule in pack.load(None, set(BY_ID))}
    assert not covered & set(CANNOT_BE_BUILT), "a scenario exists now: drop the exemption"


def test_scenario_names_are_unique():
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
