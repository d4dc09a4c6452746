"""`diagnose` as a separate process, the way a subscriber or a script runs it: exit code,
streams, time. Shared by the test_run_* files."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import _cli

REPO = Path(__file__).resolve().parents[2]
DIAGNOSE = [sys.executable, "-m", "diagnose"]
# Exit codes of a finished diagnosis (a verdict): which one depends on this machine's network.
VERDICT_CODES = {0, 3, 4, 5}
# A quick real diagnosis: the route check alone reads the kernel's tables in milliseconds.
QUICK = ("--only", "route", "--timeout", "3")
# On top of --timeout: writing the report and leaving, on a loaded 2-core machine.
SLACK_S = 1.5


class Ran(_cli.Ran):
    def report(self) -> dict:
        """stdout as exactly one JSON document."""
        return json.loads(self.stdout)


def environment(data_dir: Path, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("NO_COLOR", "LC_ALL", "LANGUAGE", "XDG_DATA_HOME")}
    return {**env, "LANG": "C.UTF-8", "DIAGNOSE_DATA_DIR": str(data_dir), **extra}


def run(args, env: dict, *, timeout: float = 30, prefix: tuple[str, ...] = ()) -> Ran:
    started = time.monotonic()
    done = subprocess.run([*prefix, *DIAGNOSE, *args], capture_output=True, timeout=timeout,
                          env=env, cwd=REPO, stdin=subprocess.DEVNULL)
    return Ran(done.returncode, done.stdout.decode("utf-8", "replace"),
               done.stderr.decode("utf-8", "replace"), time.monotonic() - started)


def shell(line: str, env: dict, *, timeout: float = 30) -> Ran:
    """A bash command line where $DIAGNOSE runs diagnose; code: diagnose's own exit code (the
    first command of a pipeline)."""
    with tempfile.TemporaryDirectory() as folder:
        code_file = Path(folder) / "code"
        script = f"{line}; echo \"${{PIPESTATUS[0]}}\" > {shlex.quote(str(code_file))}"
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=timeout,
                              env={**env, "DIAGNOSE": shlex.join(DIAGNOSE)}, cwd=REPO,
                              stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        code = int(code_file.read_text().strip())
    return Ran(code, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"),
               seconds)


def assert_no_crash(ran: Ran) -> None:
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr, ran.stderr
    assert ran.code != 1, ran.stderr


@contextmanager
def tmpfs(folder: Path, *options: str):
    """A small file system of its own at folder (root only), e.g. read-only or to fill up."""
    folder.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options or ("size=64k",)), "tmpfs",
                    str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_up(folder: Path) -> None:
    """Fill folder's file system to the last block."""
    with open(folder / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass
