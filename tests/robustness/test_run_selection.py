"""--skip and --only along the checks' needs: a check whose need is left out is left out too."""
from __future__ import annotations

import pytest

from diagnose import diagnosis
from diagnose.checks import ALL, BY_ID
from diagnose.cli import main

from ._process import VERDICT_CODES, assert_no_crash, environment, run
from ..unit.test_cli import stand_ins

NEEDED = sorted({need for spec in ALL for need in spec.needs})


def dependents(check_id: str) -> set[str]:
    found, grew = {check_id}, True
    while grew:
        more = {spec.id for spec in ALL if set(spec.needs) & found} - found
        found |= more
        grew = bool(more)
    return found - {check_id}


@pytest.mark.parametrize("check_id", NEEDED)
def test_skipping_a_needed_check_skips_its_dependents_with_the_reason(tmp_path, check_id):
    ran = run(["--json", "--skip", check_id, "--timeout", "3"], environment(tmp_path / "data"))
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES
    checks = {c["id"]: c for c in ran.report()["checks"]}
    assert checks[check_id]["status"] == "skipped"
    for dependent in dependents(check_id):
        assert checks[dependent]["status"] == "skipped"
        missing = set(BY_ID[dependent].needs) & ({check_id} | dependents(check_id))
        assert all(need in checks[dependent]["reason"] for need in missing), checks[dependent]


@pytest.mark.parametrize("check_id", NEEDED)
def test_skipped_checks_are_no_fault(monkeypatch, capsys, tmp_path, check_id):
    """On a healthy machine, leaving checks out never turns into a fault verdict."""
    monkeypatch.setenv("DIAGNOSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setattr(diagnosis, "ALL", tuple(
        spec if spec.id not in BY_ID else type(spec)(spec.id, spec.summary, stand.run,
                                                     BY_ID[spec.id].needs)
        for spec, stand in zip(stand_ins(), stand_ins())))
    assert main(["--json", "--skip", check_id]) == 0
    assert '"side": "none"' in capsys.readouterr().out
