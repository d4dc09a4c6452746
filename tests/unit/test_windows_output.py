"""On Windows a pipe or file gets the ANSI code page (cp1252 on a Western Windows, which cannot
hold Chinese): diagnose writes UTF-8 there instead (the Wine lab proves it on a real Windows
CPython: tests/wine)."""
from __future__ import annotations

import io
import sys

import pytest

from diagnose import output


class Pipe(io.TextIOWrapper):
    def isatty(self):
        return False


class Console(Pipe):
    def isatty(self):
        return True


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)


def test_a_windows_pipe_on_cp1252_is_written_in_utf8(windows, monkeypatch):
    raw = io.BytesIO()
    pipe = Pipe(raw, encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", pipe)
    monkeypatch.setattr(sys, "stderr", Pipe(io.BytesIO(), encoding="cp1252"))
    output.guard_standard_streams()
    assert sys.stdout.encoding == "utf-8" and output.stdout_speaks_unicode()
    sys.stdout.write("[L23] 宽带线路中断\n")
    sys.stdout.flush()
    assert raw.getvalue().decode("utf-8") == "[L23] 宽带线路中断\n"


def test_a_console_and_the_users_own_choice_are_left_alone(windows, monkeypatch):
    console = Console(io.BytesIO(), encoding="cp1252")
    assert not output.windows_code_page_stream(console)
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    assert not output.windows_code_page_stream(Pipe(io.BytesIO(), encoding="ascii"))


def test_other_systems_keep_their_encoding(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert not output.windows_code_page_stream(Pipe(io.BytesIO(), encoding="ascii"))
