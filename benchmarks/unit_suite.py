"""How long the unit suite takes, and how much of it is waiting: wall time against CPU time of
`python -m pytest -q tests/unit`, optionally against an earlier commit in the same session
(alternating runs, because the machine is shared and its load moves). Run from the repository
root:
python3 benchmarks/unit_suite.py [--runs N] [--base REV] [--write docs/performance.md]"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sections import provenance, write_section  # noqa: E402

SUITE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"]


def one_run(tree: Path) -> dict:
    """Wall and CPU seconds (the suite's process and its children) of one run in `tree`, with
    the load average before it."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(SUITE, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env={**os.environ, "PYTHONPATH": str(tree)})
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"the unit suite failed in {tree}:\n{done.stdout[-2000:]}")
    return {"wall": wall, "cpu": cpu, "load": load}


def export(rev: str, into: Path) -> Path:
    """The tree of commit `rev`, as git archive gives it."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def summary(runs: list[dict]) -> tuple[str, str, str, str]:
    def median(key):
        return statistics.median(run[key] for run in runs)
    idle = [run["wall"] - run["cpu"] for run in runs]
    return (f"{median('wall'):.1f} ({min(r['wall'] for r in runs):.1f}–"
            f"{max(r['wall'] for r in runs):.1f})", f"{median('cpu'):.1f}",
            f"{statistics.median(idle):.1f}", f"{median('load'):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", help="an earlier commit to measure alternately, e.g. main")
    parser.add_argument("--write", metavar="FILE", help="write the section of docs/performance.md")
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip()
    trees = {f"this tree ({head})": REPO}
    with tempfile.TemporaryDirectory() as scratch:
        if args.base:
            base = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.base],
                                  check=True, capture_output=True, text=True).stdout.strip()
            trees = {f"{base} (base)": export(args.base, Path(scratch) / "base"), **trees}
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                results[name].append(one_run(tree))
    command = "python3 benchmarks/unit_suite.py --runs {}{} --write docs/performance.md".format(
        args.runs, f" --base {args.base}" if args.base else "")
    rows = "\n".join(f"| {name} | " + " | ".join(summary(runs)) + " |"
                     for name, runs in results.items())
    body = (
        "## The unit suite (`benchmarks/unit_suite.py`)\n\n" + provenance(command) + "\n\n"
        f"`{' '.join(['python', *SUITE[1:]])}`, {args.runs} runs each"
        + (", alternating with the base commit" if args.base else "") + ". CPU is the suite's "
        "process and its children (user + system); wall minus CPU is time spent waiting (for "
        "sockets, timeouts, the disk, or the other processes on a loaded machine).\n\n"
        "| tree | wall s, median (min–max) | CPU s | wall − CPU s | load before |\n"
        "| --- | --- | --- | --- | --- |\n" + rows + "\n")
    print(body)
    if args.write:
        write_section(__file__, body, Path(args.write))


if __name__ == "__main__":
    main()
