"""Ctrl-C, SIGTERM and SIGHUP at any moment once diagnose runs: the signal's exit code and,
under --json, exactly one valid JSON document, the partial report; never a traceback.

A signal that comes while Python itself is still starting (before diagnose's first line
runs) ends the process as it ends any Python program; the tests start counting once diagnose's
handlers are in place, which /proc shows (SIGHUP is caught)."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from diagnose import history

from ._process import DIAGNOSE, REPO, SLACK_S, environment

CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
TIMEOUT_S = 4.0


def start(tmp_path):
    process = subprocess.Popen([*DIAGNOSE, "--json", "--timeout", str(TIMEOUT_S)], cwd=REPO,
                               env=environment(tmp_path / "data"), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    give_up = time.monotonic() + 20
    while not _catches_sighup(process.pid):
        assert process.poll() is None and time.monotonic() < give_up, "diagnose did not start"
        time.sleep(0.002)
    return process


def _catches_sighup(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
    except OSError:
        pass
    return False


def finish(process, sent: int):
    started = time.monotonic()
    out, err = process.communicate(timeout=TIMEOUT_S + 20)
    out, err = out.decode(), err.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    report = json.loads(out)                        # exactly one document
    if process.returncode == CODES[sent]:
        assert report["interrupted"] is True
    else:   # the signal came after the checks: the report is complete, the verdict's code
        assert process.returncode in (0, 3, 4, 5) and report["interrupted"] is False
    return report, time.monotonic() - started


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.08, 0.15])
def test_ctrl_c_in_the_first_moments(tmp_path, delay):
    process = start(tmp_path)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    report, _ = finish(process, signal.SIGINT)
    assert process.returncode == 130 and report["interrupted"] is True


def test_ctrl_c_twice_quickly(tmp_path):
    process = start(tmp_path)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    report, _ = finish(process, signal.SIGINT)
    assert process.returncode == 130


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
@pytest.mark.parametrize("delay", [0.05, 0.6])
def test_stop_signals_leave_a_partial_report_at_once(tmp_path, sent, delay):
    process = start(tmp_path)
    time.sleep(delay)
    process.send_signal(sent)
    report, seconds = finish(process, sent)
    assert process.returncode == CODES[sent] and report["interrupted"] is True
    assert seconds < SLACK_S + 0.5          # it stops now, not at the deadline


def test_an_interrupted_run_is_marked_in_the_history_and_keeps_the_last_report(tmp_path):
    data = tmp_path / "data"
    complete = subprocess.run([*DIAGNOSE, "--json", "--only", "route"], cwd=REPO,
                              env=environment(data), capture_output=True)
    last = json.loads((data / "last-report.json").read_text())
    assert complete.returncode in (0, 3, 4, 5) and last["interrupted"] is False
    process = start(tmp_path)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    report, _ = finish(process, signal.SIGINT)
    assert json.loads((data / "last-report.json").read_text())["id"] == last["id"]
    assert json.loads((data / "last-interrupted-report.json").read_text())["id"] == report["id"]
    lines = [json.loads(line) for line in (data / "history.jsonl").read_text().splitlines()]
    assert [line.get("interrupted", False) for line in lines] == [False, True]
    assert sum(group["count"] for group in history.summarize(history.load(data))) == 1
