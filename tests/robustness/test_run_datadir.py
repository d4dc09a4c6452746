"""An unusable data folder: the run still gives its report (with a warning), `history` says why
it cannot read (exit 77), and a held history lock never blocks a run."""
from __future__ import annotations

import fcntl
import os

import pytest

from ._process import (QUICK, SLACK_S, VERDICT_CODES, assert_no_crash, environment, fill_up,
                       run, tmpfs)

DATA_DIR = 77
ROOT = os.geteuid() == 0


def without_data_dir(env: dict, **extra) -> dict:
    env = {k: v for k, v in env.items() if k != "DIAGNOSE_DATA_DIR"}
    return {**env, **extra}


def test_xdg_data_home_pointing_at_a_file(tmp_path):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    env = without_data_dir(environment(tmp_path), XDG_DATA_HOME=str(a_file))
    ran = run(["--json", *QUICK], env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES and ran.report()["checks"]
    assert "could not keep the report" in ran.stderr
    for command in (["history"], ["submit"], ["submit", "--pending"]):
        ran = run(command, env)
        assert_no_crash(ran)
        assert ran.code == DATA_DIR and str(a_file) in ran.stderr and ran.stdout == "", command


@pytest.mark.skipif(not ROOT, reason="mounts a read-only file system")
def test_a_read_only_home(tmp_path):
    with tmpfs(tmp_path / "home", "ro", "size=64k") as home:
        env = without_data_dir(environment(tmp_path), HOME=str(home))
        ran = run(["--json", *QUICK], env)
        assert_no_crash(ran)
        assert ran.code in VERDICT_CODES and ran.report()["checks"]
        assert "could not keep the report" in ran.stderr
        ran = run(["history"], env)           # nothing recorded yet: an empty history
        assert_no_crash(ran)
        assert ran.code == 0


@pytest.mark.skipif(not ROOT, reason="mounts a small file system")
def test_a_full_data_disk(tmp_path):
    with tmpfs(tmp_path / "data") as data:
        fill_up(data)
        env = environment(data)
        ran = run(["--json", *QUICK], env)
        assert_no_crash(ran)
        assert ran.code in VERDICT_CODES and ran.report()["checks"]
        assert "could not keep the report" in ran.stderr
        assert sorted(p.name for p in data.iterdir()) == ["filler"]      # no half file
        ran = run(["history"], env)
        assert_no_crash(ran)
        assert ran.code == 0


def test_a_held_history_lock_delays_the_run_boundedly(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    lock = os.open(data / "history.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)        # a stuck diagnose holds it
    try:
        ran = run(["--json", *QUICK], environment(data))
    finally:
        os.close(lock)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES and ran.report()["checks"]
    assert "history is in use" in ran.stderr
    assert ran.seconds < 3 + SLACK_S             # --timeout 3, lock or not
    assert (data / "last-report.json").exists() and not (data / "history.jsonl").exists()
