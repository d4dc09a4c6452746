"""Run `diagnose` as a subscriber would: a separate process, its exit code, its streams, its time."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

# A deadline for a refusal: generous for a 2-core machine under load, far below what the attacks
# cost before they were refused (seconds to minutes, or forever).
REFUSAL_S = 10.0


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float


def diagnose(*args: str, env: dict | None = None, timeout: float = REFUSAL_S) -> Ran:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "diagnose", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "LANG": "C.UTF-8", **(env or {})},
                          stdin=subprocess.DEVNULL)
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def assert_refused(ran: Ran, code: int, *words: str) -> None:
    """The documented exit code, a message with these words, no traceback."""
    assert ran.code == code, (ran.code, ran.stderr)
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr, ran.stderr
    for word in words:
        assert word in ran.stderr, (word, ran.stderr)
