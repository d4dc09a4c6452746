"""-o FILE: whole or not at all, never replacing what is not a regular file, never losing the report."""
from __future__ import annotations

import json
import os
import stat

import pytest

from ._process import QUICK, VERDICT_CODES, assert_no_crash, environment, fill_up, run, tmpfs

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root (device nodes, mounts, chown)")


@pytest.fixture
def env(tmp_path):
    return environment(tmp_path / "data")


@needs_root
def test_a_null_device_is_written_into_not_replaced(tmp_path, env):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))   # the same device as /dev/null
    ran = run(["--json", "-o", str(null), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES and ran.stdout == ""
    assert stat.S_ISCHR(null.stat().st_mode)


@needs_root
def test_a_full_device_fails_and_the_report_comes_on_stdout(tmp_path, env):
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))   # the same device as /dev/full
    ran = run(["--json", "-o", str(full), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code == 74, ran.stderr
    assert ran.report()["checks"]                          # nothing lost: here it is
    assert str(full) in ran.stderr and "No space left" in ran.stderr
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_fifo_with_a_reader_gets_the_report_and_stays_a_fifo(tmp_path, env):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # a reader from now on
    held = os.open(fifo, os.O_WRONLY)                       # no end of file before diagnose's
    try:
        ran = run(["--json", "-o", str(fifo), *QUICK], env)
    finally:
        os.close(held)
    with os.fdopen(reader, "rb") as stream:
        received = stream.read()
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES
    assert json.loads(received)["checks"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_nobody_reads_is_refused_before_any_check(tmp_path, env):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    ran = run(["--json", "-o", str(fifo), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code == 73 and str(fifo) in ran.stderr and ran.stdout == ""
    assert not (tmp_path / "data" / "last-report.json").exists()      # no diagnosis ran
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlink_is_kept_and_its_target_written(tmp_path, env):
    target = tmp_path / "reports" / "today.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    ran = run(["--json", "-o", str(link), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code in VERDICT_CODES
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["checks"]


def test_an_existing_file_keeps_its_mode(tmp_path, env):
    out = tmp_path / "report.txt"
    out.write_text("old")
    out.chmod(0o640)
    ran = run(["-o", str(out), *QUICK], env)
    assert_no_crash(ran)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and "old" not in out.read_text()


@needs_root
def test_under_sudo_a_new_file_belongs_to_the_invoking_user(tmp_path):
    out = tmp_path / "report.json"
    env = environment(tmp_path / "data", SUDO_UID="4242", SUDO_GID="4243", SUDO_USER="nobody")
    ran = run(["--json", "-o", str(out), *QUICK], env, prefix=("sh", "-c", 'umask 022; exec "$@"', "sh"))
    assert_no_crash(ran)
    info = out.stat()
    assert (info.st_uid, info.st_gid) == (4242, 4243) and stat.S_IMODE(info.st_mode) == 0o644


def test_a_missing_folder_is_refused_before_any_check(tmp_path, env):
    ran = run(["-o", str(tmp_path / "no" / "such" / "report.txt"), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code == 73 and "report.txt" in ran.stderr and ran.stdout == ""
    assert not (tmp_path / "data" / "last-report.json").exists()


@needs_root
def test_a_read_only_folder_is_refused_before_any_check(tmp_path, env):
    with tmpfs(tmp_path / "ro", "ro", "size=64k") as folder:
        ran = run(["-o", str(folder / "report.txt"), *QUICK], env)
    assert_no_crash(ran)
    assert ran.code == 73 and "report.txt" in ran.stderr and ran.stdout == ""


@needs_root
def test_a_full_disk_keeps_the_old_file_and_shows_the_report(tmp_path, env):
    with tmpfs(tmp_path / "full") as folder:
        out = folder / "report.json"
        out.write_text("the old report")
        fill_up(folder)
        ran = run(["--json", "-o", str(out), *QUICK], env)
        assert out.read_text() == "the old report"                  # whole or not at all
        assert sorted(p.name for p in folder.iterdir()) == ["filler", "report.json"]   # no temp
    assert_no_crash(ran)
    assert ran.code == 74 and ran.report()["checks"]
