"""What a subscriber sees at the end of a run in a real terminal: the verdict is still there.

diagnose runs in a pseudo-terminal of the given size; pyte, a terminal emulator, plays its
output (progress rewritten in place, colours, wrapping) and the final screen is checked."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
from pathlib import Path

import pyte
import pytest

ROOT = Path(__file__).resolve().parents[2]


def final_screen(args, columns, rows, env, tmp_path) -> list[str]:
    pid, master = pty.fork()
    if pid == 0:                                   # the child: diagnose on the terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("COLUMNS", "LINES", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "NO_COLOR")}
        clean.update(env, DIAGNOSE_DATA_DIR=str(tmp_path / "data"), TERM="xterm",
                     PYTHONPATH=str(ROOT))
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "tests.unit.screen_driver", *args], clean)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:                           # EIO: the child closed the terminal
            break
        if not data:
            break
        stream.feed(data)
    os.waitpid(pid, 0)
    os.close(master)
    return [line.rstrip() for line in screen.display]


@pytest.mark.parametrize("columns, rows", [(80, 24), (60, 20)])
@pytest.mark.parametrize("lang, verdict, words, cited", [
    ("en", "[L23] The home router works", "What to do:", "gateway, finding sites by name, internet"),
    ("zh_CN", "[L23] 家里的路由器工作正常", "建议操作：", "网关、域名解析、互联网"),
])
def test_the_verdict_is_on_the_screen_when_the_run_ends(tmp_path, columns, rows, lang, verdict,
                                                        words, cited):
    screen = final_screen([], columns, rows, {"LANG": f"{lang}.UTF-8"}, tmp_path)
    shown = "\n".join(screen)
    assert any(line.startswith(verdict) for line in screen), shown
    # the checks the verdict rests on (every stand-in check says ok: the finding marks them)
    assert any(line.startswith("  [L23]") and line.endswith(cited) for line in screen), shown
    assert words in shown and ("2R" in shown or "-" in shown)
    assert "Checking" not in shown and "正在检查" not in shown     # progress erased
    assert all(len(line) <= columns for line in screen)
    if (columns, rows) == (60, 20):
        print("\n".join(screen))


def test_quiet_prints_the_verdict_line_only(tmp_path):
    screen = final_screen(["-q"], 80, 24, {"LANG": "C.UTF-8"}, tmp_path)
    shown = [line for line in screen if line]      # one line of text, which the terminal folds
    assert shown[0].startswith("[L23] The home router works") and shown[-1].endswith("down.")
    assert len(shown) == 2
