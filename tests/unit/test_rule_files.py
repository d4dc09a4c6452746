"""Broken rule files: a clear message naming file and line, exit 78, never a traceback."""
from __future__ import annotations

import pytest

from diagnose.checks import BY_ID
from diagnose.cli import main
from diagnose.engine import pack
from diagnose.errors import ConfigError

GOOD = """\
- id: demo-rule
  code: U99
  side: user
  severity: fault
  layer: 3
  when: {fact: gateway.reachable, is: false}
  title: {en: Demo., zh_CN: 演示。}
  advice: {en: [Do it.], zh_CN: [照做。]}
  doc: {en: {means: It means., confirm: Confirm it.}, zh_CN: {means: 含义。, confirm: 确认。}}
"""


@pytest.mark.parametrize("change, line, words", [
    (("code: U99", "code: U01"), 2, "two digits 2-9"),
    (("code: U99", "code: L99"), 2, "must start with U"),
    (("side: user", "side: router"), 3, "side must be one of"),
    (("layer: 3", "layer: 0"), 5, "layer"),
    (("is: false}", "is: [false]}"), 6, "single value"),
    (("gateway.reachable", "no_such_check.reachable"), 6, "unknown check 'no_such_check'"),
    (("zh_CN: 演示。", "de: Demo."), 7, "lacks its zh_CN text"),
    (("advice: {en: [Do it.], zh_CN: [照做。]}", "advice: {en: [Do it.]}"), 8, "zh_CN"),
    (("  doc:", "  extra: 1\n  doc:"), 9, "unknown key"),
    (("zh_CN: {means: 含义。, confirm: 确认。}", "zh_CN: {means: 含义。}"), 9, "doc.zh_CN must be"),
    (("id: demo-rule", "id: Demo_Rule"), 1, "kebab-case"),
    (("title: {en: Demo.", "title: {en: [Demo."), 7, "not valid YAML"),
])
def test_broken_rule_is_named_with_file_and_line(tmp_path, change, line, words):
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        pack.load(path, set(BY_ID))
    assert caught.value.path == str(path)
    assert caught.value.line == line, str(caught.value)
    assert words in str(caught.value)


def test_duplicate_codes_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("demo-rule", "other-rule"))
    with pytest.raises(ConfigError, match="code 'U99' is already used"):
        pack.load(tmp_path, set(BY_ID))


def test_good_file_loads(tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD)
    assert [r.id for r in pack.load(tmp_path, set(BY_ID))] == ["demo-rule"]


def test_cli_rules_check_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("severity: fault", "severity: awful"))
    assert main(["rules", "check", str(bad)]) == 78
    err = capsys.readouterr().err
    assert f"{bad}:4" in err and "severity" in err and "Traceback" not in err
    assert main(["rules", "check"]) == 0
    assert f"{len(pack.load(None, set(BY_ID)))} rules OK" in capsys.readouterr().out
    assert main(["rules", "check", str(tmp_path / "missing")]) == 78
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    assert main(["rules", "check", str(tmp_path / "binary.yaml")]) == 78
