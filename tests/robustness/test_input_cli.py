"""What a hotline agent types: any digest to `diagnose decode`, any code to `diagnose explain`
gives the diagnosis or a usage error (exit 2), never a traceback."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import digest
from diagnose.cli import main
from diagnose.exit_codes import ExitCode

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ-IilLoO ·\u00a0\u3000０１２"
_digests = st.one_of(st.text(max_size=40), st.text(alphabet=ALPHABET, max_size=30),
                     st.from_regex(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", fullmatch=True))


@FUZZ
@given(text=_digests)
def test_decode_returns_a_summary_or_a_digest_error(text):
    try:
        summary = digest.decode(text)
    except digest.DigestError:
        return
    assert isinstance(summary, dict) and "code" in summary


@FUZZ
@given(words=st.lists(_digests, min_size=1, max_size=3))
def test_the_decode_command_never_crashes(capsys, words):
    code = main(["--lang", "en", "decode", "--", *words])
    out, err = capsys.readouterr()
    assert code in (ExitCode.NO_FAULT, ExitCode.USAGE), err
    assert "Traceback" not in err and "internal error" not in err


@FUZZ
@given(code=st.one_of(st.text(max_size=12), st.from_regex(r"[NUHALSX][0-9]{2}", fullmatch=True)))
def test_the_explain_command_never_crashes(capsys, code):
    exit_code = main(["--lang", "zh_CN", "explain", "--", code])
    out, err = capsys.readouterr()
    assert exit_code in (ExitCode.NO_FAULT, ExitCode.USAGE), err
    assert "Traceback" not in err and "internal error" not in err
    if exit_code == ExitCode.NO_FAULT:
        assert out.strip()


@pytest.mark.parametrize("args", [["decode", "\x00"], ["decode", "9" * 5000],
                                  ["explain", "N" * 10_000], ["decode", "-", "-"]])
def test_odd_inputs(capsys, args):
    code = main(["--lang", "en", args[0], "--", *args[1:]])
    _, err = capsys.readouterr()
    assert code in (ExitCode.NO_FAULT, ExitCode.USAGE) and "internal error" not in err


@pytest.mark.parametrize("command", ["decode", "explain"])
def test_bytes_that_are_not_utf8_on_the_command_line(command):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "diagnose", command, b"\xff\xfe"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == ExitCode.USAGE and b"Traceback" not in done.stderr
