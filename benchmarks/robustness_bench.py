"""Figures behind docs/exit-codes.md: how soon diagnose ends under a trickling server, a stop
signal and a held history lock, and how long Python starts before diagnose's signal handlers
are in place. Run from the repository root:
python3 benchmarks/robustness_bench.py [--runs N] [--write docs/performance.md] (writes its section)"""
from __future__ import annotations

import argparse
import fcntl
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sections import provenance, write_section  # noqa: E402
from tests.robustness._servers import Trickler  # noqa: E402
from tests.robustness.test_run_signals import _catches_sighup  # noqa: E402

DIAGNOSE = [sys.executable, "-m", "diagnose"]


def env(data: Path) -> dict:
    return {**os.environ, "LANG": "C.UTF-8", "DIAGNOSE_DATA_DIR": str(data)}


def wall(argv, environment, shell=False) -> float:
    started = time.monotonic()
    subprocess.run(argv, env=environment, cwd=REPO, shell=shell, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    return time.monotonic() - started


def trickle(runs: int, data: Path, timeout: float) -> list[float]:
    server = Trickler()
    profile = data / "trickle.yaml"
    profile.write_text(f'name: trickle\nprobes:\n  connectivity_urls: ["{server.url}"]\n')
    try:
        line = (" ".join(DIAGNOSE) + f" --json --profile {profile} --only internet "
                f"--timeout {timeout:g} | cat")
        return [wall(["bash", "-c", line], env(data)) for _ in range(runs)]
    finally:
        server.close()


def started_process(data: Path):
    process = subprocess.Popen([*DIAGNOSE, "--json", "--timeout", "10"], cwd=REPO, env=env(data),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while not _catches_sighup(process.pid):
        time.sleep(0.001)
    return process, time.monotonic() - started


def signal_to_exit(runs: int, data: Path, sent: int) -> list[float]:
    figures = []
    for _ in range(runs):
        process, _ = started_process(data)
        time.sleep(0.6)
        started = time.monotonic()
        process.send_signal(sent)
        process.wait(60)
        figures.append(time.monotonic() - started)
    return figures


def handlers_in_place(runs: int, data: Path) -> list[float]:
    figures = []
    for _ in range(runs):
        process, seconds = started_process(data)
        figures.append(seconds)
        process.send_signal(signal.SIGINT)
        process.wait(60)
    return figures


def held_lock(runs: int, data: Path) -> list[float]:
    lock = os.open(data / "history.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        return [wall([*DIAGNOSE, "--json", "--only", "route", "--timeout", "3"], env(data))
                for _ in range(runs)]
    finally:
        os.close(lock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", metavar="PATH", help="write its section of this Markdown file")
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        rows = [("`--json --only internet --timeout 2 \\| cat`, trickling URL (s, wall)", trickle(runs, data, 2)),
                ("`--json --only internet --timeout 4 \\| cat`, trickling URL (s, wall)", trickle(runs, data, 4)),
                ("SIGINT to exit, with the partial report (s)", signal_to_exit(runs, data, signal.SIGINT)),
                ("SIGTERM to exit (s)", signal_to_exit(runs, data, signal.SIGTERM)),
                ("SIGHUP to exit (s)", signal_to_exit(runs, data, signal.SIGHUP)),
                ("process start to diagnose's signal handlers (s)", handlers_in_place(runs, data)),
                ("`--only route --timeout 3` with history.lock held (s, wall)", held_lock(runs, data))]
    lines = ["## Deadlines and signals (`benchmarks/robustness_bench.py`)", "",
             provenance(f"python3 benchmarks/robustness_bench.py --runs {runs} --write docs/performance.md"),
             "", f"{runs} runs each. The trickling server is `tests/robustness/_servers.py`, one byte "
             "every 0.2 s after a 200 header; what each figure promises: "
             "[docs/exit-codes.md](exit-codes.md).", "",
             "| what | median | max |", "| --- | --- | --- |"]
    lines += [f"| {what} | {statistics.median(figures):.2f} | {max(figures):.2f} |"
              for what, figures in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(__file__, section, Path(args.write))   # only its own section


if __name__ == "__main__":
    main()
