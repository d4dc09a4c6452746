"""Option values that are numbers only in name, and colour only where it can be shown."""
from __future__ import annotations

import os
import pty
import subprocess

import pytest

from diagnose.diagnosis import colour_wanted

from ._process import DIAGNOSE, QUICK, REPO, assert_no_crash, environment, run


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e400"])
def test_timeouts_that_are_no_number_of_seconds_are_usage_errors(tmp_path, value):
    ran = run(["--timeout", value, "--only", "route"], environment(tmp_path / "data"))
    assert_no_crash(ran)
    assert ran.code == 2 and "--timeout" in ran.stderr and ran.stdout == ""


class Terminal:
    def isatty(self):
        return True


@pytest.mark.parametrize("env, wanted", [
    ({}, True), ({"TERM": "dumb"}, False), ({"NO_COLOR": "1"}, False),
    ({"NO_COLOR": ""}, True),                       # no-color.org: set and not empty
    ({"TERM": "xterm-256color", "NO_COLOR": "0"}, False),
])
def test_colour_follows_term_and_no_color(env, wanted):
    assert colour_wanted(Terminal(), env) is wanted


@pytest.mark.parametrize("extra, coloured", [({"TERM": "dumb"}, False), ({"TERM": "xterm"}, True),
                                             ({"TERM": "xterm", "NO_COLOR": ""}, True),
                                             ({"TERM": "xterm", "NO_COLOR": "yes"}, False)])
def test_on_a_real_terminal(tmp_path, extra, coloured):
    shown = _on_a_terminal(tmp_path, extra, stderr=subprocess.DEVNULL)
    assert shown.strip() and (b"\x1b[" in shown) is coloured


def test_a_dumb_terminal_gets_no_escape_codes_at_all(tmp_path):
    """Neither colour nor the progress line's erasing: TERM=dumb cannot show them."""
    shown = _on_a_terminal(tmp_path, {"TERM": "dumb"}, stderr=None)
    assert shown.strip() and b"\x1b" not in shown


def _on_a_terminal(tmp_path, extra, stderr) -> bytes:
    """What a run shows on a pseudo-terminal (stdout, and stderr too when stderr is None)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([*DIAGNOSE, *QUICK], cwd=REPO, stdin=subprocess.DEVNULL,
                                   stdout=follower,
                                   stderr=follower if stderr is None else stderr,
                                   env=environment(tmp_path / "data", **extra))
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:           # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(30) in (0, 3, 4, 5)
    finally:
        os.close(leader)
    return shown
