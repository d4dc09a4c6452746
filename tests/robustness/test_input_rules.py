"""Rule-pack validation: whatever a rule file holds, `rules check` loads it or refuses it with
exit 78 and a message naming file, line and key, never a traceback."""
from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.checks import BY_ID
from diagnose.engine import pack
from diagnose.errors import ConfigError
from diagnose.exit_codes import ExitCode

from ._cli import assert_refused, diagnose

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KNOWN = set(BY_ID)
VALID = {"id": "gateway-silent", "code": "H55", "side": "home", "severity": "fault", "layer": 3,
         "when": {"all": [{"fact": "gateway.reachable", "is": False},
                          {"check": "route", "status": "ok"}]},
         "evidence": ["gateway.address"],
         "title": {"en": "The router {gateway.address} is silent", "zh_CN": "路由器没有应答"},
         "advice": {"en": ["Restart the router."], "zh_CN": ["重启路由器。"]},
         "doc": {"en": {"means": "m", "confirm": "c"}, "zh_CN": {"means": "m", "confirm": "c"}}}


def write(tmp_path, rules, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(rules if isinstance(rules, str) else yaml.safe_dump(rules, allow_unicode=True))
    return path


def test_the_template_is_valid(tmp_path):
    assert [r.id for r in pack.load(write(tmp_path, [VALID]), KNOWN)] == ["gateway-silent"]


def nest(depth):
    condition = {"fact": "gateway.reachable", "is": True}
    for _ in range(depth):
        condition = {"not": condition}
    return condition


@pytest.mark.parametrize("change, key", [
    ({"when": {"check": ["route"], "status": "ok"}}, "when.check"),           # unhashable check
    ({"when": {"check": {"a": 1}, "status": "ok"}}, "when.check"),
    ({"when": {"check": "route", "status": [["ok"]]}}, "when.status"),
    ({"when": {"fact": "gateway.reachable", "in": [[1], {"a": 2}]}}, "when.in"),
    ({"when": {1: "x", "a": "y"}}, "when"),                                   # mixed key types
    ({"when": {"fact": "gateway.reachable", 1: True, "is": True}}, "when"),
    ({"title": {"en": "x", "zh_CN": "y", 3: "z"}}, "title"),
    ({"doc": {"en": {"means": "m", "confirm": "c", 1: 2}, "zh_CN": {"means": "m", "confirm": "c"}}},
     "doc.en"),
    ({1: "x"}, "1"),
    ({"evidence": [["gateway.address"]]}, "evidence"),
    ({"evidence": "gateway.address"}, "evidence"),
    ({"when": nest(25)}, "when"),                         # deeper than conditions.MAX_DEPTH
    ({"when": {"fact": "gateway.reachable", "lt": float("nan")}}, "when.lt"),
    ({"when": {"fact": "gateway.reachable", "gt": float("inf")}}, "when.gt"),
    ({"side": ["home"]}, "side"), ({"severity": {"a": 1}}, "severity"),
    ({"confidence": ["high"]}, "confidence"), ({"layer": 10 ** 30}, "layer"),
    ({"id": ["x"]}, "id"), ({"code": 55}, "code"),
])
def test_conditions_that_crashed_at_load_are_named(tmp_path, change, key):
    rule = {**copy.deepcopy(VALID), **change}
    with pytest.raises(ConfigError) as caught:
        pack.load(write(tmp_path, [rule]), KNOWN)
    assert str(caught.value.key).startswith(key), (caught.value.key, caught.value.message)
    assert caught.value.path and caught.value.line


def test_nesting_beyond_the_yaml_limit_is_named_with_its_line(tmp_path):
    with pytest.raises(ConfigError, match="nested deeper") as caught:
        pack.load(write(tmp_path, [{**VALID, "when": nest(40)}]), KNOWN)
    assert caught.value.line


def test_recursion_deeper_than_python_allows_is_a_config_error(tmp_path):
    text = "- " + yaml.safe_dump({**VALID, "when": "X"}, width=10**6).replace(
        "\n", "\n  ").replace("when: X", "when: " + "{not: " * 5000 + "{always: true}" + "}" * 5000)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError):
        pack.load(path, KNOWN)
    ran = diagnose("--rules", str(path), "rules", "check")
    assert_refused(ran, ExitCode.CONFIG, str(path))


def test_the_cli_names_a_crashing_condition(tmp_path):
    path = write(tmp_path, [{**VALID, "when": {"check": ["route"], "status": "ok"}}])
    ran = diagnose("--rules", str(path), "rules", "check")
    assert_refused(ran, ExitCode.CONFIG, str(path), "when.check")


# ------------------------------------------------------------------------------- fuzzing
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                     st.sampled_from(["gateway.reachable", "route", "ok", "fault", "home", "H55",
                                      "all", "any", "not", "fact", "check", "status", "is", "in",
                                      "lt", "exists", "always", "en", "zh_CN", "means"]))
_keys = st.one_of(st.sampled_from(["all", "any", "not", "always", "fact", "check", "status", "is",
                                   "in", "lt", "ge", "exists", "en", "zh_CN", "means", "confirm"]),
                  st.integers(-2, 2), st.booleans(), st.none(), st.text(max_size=4))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)
_rule_keys = st.sampled_from(sorted(VALID) + ["confidence", "verdict_only", 7, None, "extra"])


@FUZZ
@given(changes=st.dictionaries(_rule_keys, _values, max_size=3))
def test_any_rule_is_loaded_or_refused_cleanly(tmp_path, changes):
    rule = {**copy.deepcopy(VALID), **changes}
    try:
        text = yaml.safe_dump([rule], allow_unicode=True)
    except yaml.YAMLError:
        return
    try:
        pack.load(write(tmp_path, text), KNOWN)
    except ConfigError as exc:
        assert exc.message
