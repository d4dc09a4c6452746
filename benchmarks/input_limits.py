"""How fast and how cheaply hostile input is refused: each case is a whole `diagnose` process,
timed with its peak memory (max RSS). No network, no root needed.

    python3 benchmarks/input_limits.py [--runs 5] [--write docs/performance.md]

Prints its section of docs/performance.md (--write: writes it there): a Markdown table: case, exit status, wall time median (min-max) in ms, peak memory in MB,
next to `diagnose rules check` with the shipped pack as the baseline of a process that loads
YAML.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import provenance, write_section  # noqa: E402

BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    for previous, name in zip("abcdefgh", "bcdefghi"))


def cases(folder: Path) -> list[tuple[str, list[str]]]:
    bomb = folder / "bomb.yaml"
    bomb.write_text(BOMB)
    huge = folder / "huge.yaml"
    with open(huge, "wb") as handle:
        handle.write(b"name: x\n")
        handle.truncate(35 * 1024 * 1024)
    deep = folder / "deep.yaml"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    rules_bomb = folder / "rules.yaml"
    rules_bomb.write_text("- " + BOMB.replace("\n", "\n  ").rstrip() + "\n")
    return [
        ("baseline: rules check, shipped pack", ["rules", "check"]),
        (f"profile: alias bomb ({len(BOMB)} bytes)", ["--profile", str(bomb), "--only", "interfaces"]),
        ("profile: 35 MB", ["--profile", str(huge), "--only", "interfaces"]),
        ("profile: 100,000 nested lists", ["--profile", str(deep), "--only", "interfaces"]),
        ("profile: a FIFO nobody writes", ["--profile", str(fifo), "--only", "interfaces"]),
        ("profile: /dev/zero", ["--profile", "/dev/zero", "--only", "interfaces"]),
        ("rule file: alias bomb", ["--rules", str(rules_bomb), "rules", "check"]),
    ]


def run(args: list[str]) -> tuple[int, float, float]:
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "diagnose", *args], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, (time.monotonic() - started) * 1000, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", metavar="PATH", help="write its section of this Markdown file")
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, args_of_case in cases(Path(tmp)):
            results = [run(args_of_case) for _ in range(runs)]
            times = [ms for _, ms, _ in results]
            rows.append((name, results[0][0], statistics.median(times), min(times), max(times),
                         max(mb for _, _, mb in results)))
    lines = ["## Hostile input files (`benchmarks/input_limits.py`)", "",
             provenance(f"python3 benchmarks/input_limits.py --runs {runs} --write docs/performance.md"),
             "", "Each case is a whole `diagnose` process; `rules check` with the shipped pack is the "
             "baseline of a process that loads YAML.", "",
             "| case | exit | wall ms: median (min-max) | peak MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {code} | {median:.0f} ({low:.0f}-{high:.0f}) | {memory:.0f} |"
              for name, code, median, low, high, memory in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(__file__, section, Path(args.write))   # only its own section


if __name__ == "__main__":
    main()
