"""Closed, broken and narrow standard streams: a documented exit code, never an internal error,
and the report is not lost (it is kept in the data folder)."""
from __future__ import annotations

import json

import pytest

from ._process import QUICK, VERDICT_CODES, assert_no_crash, environment, shell

OUTPUT_FAILED = 74


@pytest.fixture
def env(tmp_path):
    return environment(tmp_path / "data")


def kept(env) -> dict:
    with open(f"{env['DIAGNOSE_DATA_DIR']}/last-report.json") as handle:
        return json.load(handle)


def test_closed_stderr_changes_nothing(env):
    ran = shell(f"$DIAGNOSE --json {' '.join(QUICK)} 2>&-", env)
    assert ran.code in VERDICT_CODES and json.loads(ran.stdout)["checks"]


def test_closed_stdout_is_said_and_the_report_kept(env):
    ran = shell(f"$DIAGNOSE --json {' '.join(QUICK)} >&-", env)
    assert_no_crash(ran)
    assert ran.code == OUTPUT_FAILED and "last-report.json" in ran.stderr
    assert kept(env)["checks"]


def test_a_reader_that_leaves_at_once(env):
    ran = shell(f"$DIAGNOSE --json {' '.join(QUICK)} | true", env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES | {OUTPUT_FAILED}   # the pipe may still take it all
    if ran.code == OUTPUT_FAILED:
        assert "last-report.json" in ran.stderr
    assert kept(env)["checks"]


def test_a_reader_that_takes_ten_bytes(env):
    ran = shell(f"$DIAGNOSE --json --verbose {' '.join(QUICK)} | (head -c 10 >/dev/null)", env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES | {OUTPUT_FAILED}
    assert kept(env)["checks"]


@pytest.mark.parametrize("redirect", ["2>&-", ">&-", "| head -c 10", "| true", ">/dev/full",
                                      "2>/dev/full", "<&- >&- 2>&-"])
def test_help_with_broken_streams(env, redirect):
    ran = shell(f"$DIAGNOSE --help {redirect}", env)
    assert_no_crash(ran)
    assert ran.code in (0, OUTPUT_FAILED), ran


@pytest.mark.parametrize("args", [("rules", "list"), ("explain", "L23"), ("history",), ("--version",)])
def test_other_commands_into_a_full_or_closed_stdout(env, args):
    for redirect in (">/dev/full", ">&-", "| true"):
        ran = shell(f"$DIAGNOSE {' '.join(args)} {redirect}", env)
        assert_no_crash(ran)
        assert ran.code in (0, OUTPUT_FAILED), (redirect, ran)
    assert shell(f"$DIAGNOSE {' '.join(args)} >/dev/full", env).code == OUTPUT_FAILED


@pytest.mark.parametrize("as_json", [True, False])
def test_chinese_report_on_an_ascii_stdout_is_not_lost(env, as_json):
    env = {**env, "PYTHONIOENCODING": "ascii"}
    ran = shell(f"$DIAGNOSE --lang zh_CN {'--json' if as_json else ''} {' '.join(QUICK)}", env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES and ran.stdout.isascii()
    title = kept(env)["verdict"]["title"]
    if as_json:
        assert json.loads(ran.stdout)["verdict"]["title"] == title
    else:   # each character as an escape: nothing dropped
        assert title.encode("ascii", "backslashreplace").decode() in ran.stdout
