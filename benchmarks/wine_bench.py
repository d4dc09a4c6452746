"""The Windows download under Wine: its size, and its time to the verdict next to Linux's.

    sudo python3 benchmarks/wine_bench.py [--runs 5] [--write docs/performance.md]

Builds the zip (make_windows_zip.py) into a Wine prefix without Z: (tests/wine/conftest.py),
then, in one fresh lab per network (healthy, router WAN down), alternates run by run:
`wine D:\\diagnose.exe --json --profile L:\\profile.yaml --skip line_quality` (the built zip, the
wineserver stopped before each run, as in the Wine lab) and this checkout's
`python -m diagnose --json --profile <same profile> --skip line_quality` on Linux. Wall time of
the whole process each; prints its Markdown section of docs/performance.md (--write: writes it there).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sections import provenance, write_section  # noqa: E402
from tests.lab.netlab import Lab  # noqa: E402
from tests.wine.conftest import WindowsInstall  # noqa: E402
from tests.wine.test_wine_lab import WINE_SKIPS  # noqa: E402

NETWORKS = (("healthy", None), ("router WAN down", "wan_down"))


def timed(call):
    started = time.monotonic()
    done = call()
    return time.monotonic() - started, done


# What the launcher imports before the checks' clocks start (make_windows_zip.LAUNCHER_MAIN).
IMPORTS = ("import diagnose.cli, dns.message, dns.query, dns.rdatatype, dns.rcode, requests, "
           "psutil, yaml, click")


def checks_seconds(done) -> float | None:
    try:
        return json.loads(done.stdout)["duration_ms"] / 1000
    except (ValueError, KeyError, TypeError):
        return None


def verdict(done) -> str:
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return f"no report (exit {done.returncode})"
    return f"{report['verdict']['code']} exit {done.returncode}"


def spread(samples: list[float]) -> str:
    ms = [round(s * 1000) for s in samples]
    return f"{round(statistics.median(ms))} ({min(ms)}–{max(ms)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", metavar="PATH", help="write its section of this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wine-bench-") as work:
        install = WindowsInstall(Path(work))
        install.build()
        size = install.zip.stat().st_size
        rows, parts = [], []
        for name, fault in NETWORKS:
            with Lab() as lab:
                if fault:
                    getattr(lab, fault)()
                wine, linux, verdicts = [], [], set()
                wine_start, python_start, checks = [], [], []
                for _ in range(args.runs):
                    seconds, done = timed(lambda: install.run(
                        lab, ["D:\\diagnose.exe", "--json", "--profile", "L:\\profile.yaml",
                              *WINE_SKIPS]))
                    wine.append(seconds)
                    verdicts.add("Wine " + verdict(done))
                    checks.append(checks_seconds(done))
                    # where the time goes: Wine alone, then Wine + the interpreter + the imports
                    wine_start.append(timed(lambda: install.run(lab, ["cmd", "/c", "exit"]))[0])
                    python_start.append(timed(lambda: install.run(
                        lab, ["D:\\python\\python.exe", "-c", IMPORTS]))[0])
                    seconds, done = timed(lambda: lab.run_diagnose(
                        ["--json", "--profile", str(lab.profile_path), *WINE_SKIPS]))
                    linux.append(seconds)
                    verdicts.add("Linux " + verdict(done))
                install.stop_server()
                rows.append((name, spread(wine), spread(linux), ", ".join(sorted(verdicts))))
                parts.append((name, spread(wine_start),
                              spread([p - w for p, w in zip(python_start, wine_start)]),
                              spread([c for c in checks if c is not None])))
    command = f"sudo python3 benchmarks/wine_bench.py --runs {args.runs} --write docs/performance.md"
    section = (f"""## Windows download under Wine

{provenance(command)}

Wine 8, official Windows CPython 3.11.9.

- Zip (`python3 make_windows_zip.py`): {size} bytes ({size / 2**20:.1f} MiB). Wine prefix and build: {install.timings['prefix_s']:.0f} s and {install.timings['build_s']:.0f} s (once per Wine lab session).
- Time to the verdict, ms, median (min–max) of {args.runs} runs, alternating, in the same lab; both with `--skip line_quality` (Wine's sockets make its delays meaningless). Wine's figure includes starting Wine (its wineserver stopped before each run, as the Wine lab does).

| network | diagnose.exe under Wine | Linux `python -m diagnose` | verdicts |
| --- | --- | --- | --- |
""" + "\n".join(f"| {name} | {w} | {l} | {v} |" for name, w, l, v in rows) + """

Where the Wine time goes, ms, median (min–max), measured in the same runs: starting Wine itself
(`wine cmd /c exit`, wineserver stopped before), the Windows interpreter with the imports the
launcher makes before the checks start (the python.exe run less Wine's start), and the checks
(the report's `duration_ms`); the rest of a run is the rule engine, rendering and exit.

| network | Wine start | interpreter + imports | checks |
| --- | --- | --- | --- |
""" + "\n".join(f"| {name} | {w} | {p} | {c} |" for name, w, p, c in parts) + "\n")
    print(section)
    if args.write:
        write_section(__file__, section, Path(args.write))   # only its own section
    return 0


if __name__ == "__main__":
    sys.exit(main())
