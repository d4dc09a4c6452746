#!/usr/bin/env python3
"""Benchmark `diagnose` in the fault lab, against a reference measured in the same run.

    sudo python3 benchmarks/bench.py [--runs N] [--write docs/performance.md]

Measures: wall time of `diagnose --json` in the lab's PC namespace against a shell script
of standard tools (healthy network, router WAN down), wall time in every scenario of
tests/lab/scenarios.py, `diagnose --help` start-up against `python -c pass`, whether scapy
is imported, and peak memory. The machine is shared and noisy, so each figure is a median
of several runs, and diagnose and the reference alternate run by run.

Only `--help`, which opens no socket, runs on the host; everything else runs in the lab.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.sections import machine, provenance, write_section  # noqa: E402
from tests.lab.netlab import Lab  # noqa: E402
from tests.lab.scenarios import SCENARIOS  # noqa: E402

DEFAULT_RUNS = 7
STARTUP_RUNS = 20
MEMORY_RUNS = 3
WARMUP_RUNS = 1  # untimed runs first: ARP entries, page cache

GOAL_HEALTHY_RATIO = 1.5       # diagnose / reference, healthy network
GOAL_SCENARIO_S = 3.0          # slowest run of any scenario
GOAL_STARTUP_EXTRA_MS = 250    # diagnose --help minus python -c pass
GOAL_PEAK_RSS_MB = 100

# What a person checking by hand runs: the same probes as diagnose with standard tools,
# concurrently, with tight timeouts. Three echoes 0.2 s apart (the shortest interval ping allows
# an ordinary user), so one lost echo is no false alarm; about 0.4 s on a healthy network.
REFERENCE_SCRIPT = (
    "ping -n -q -c3 -i0.2 -W1 192.168.77.1 & "
    "dig +time=1 +tries=1 @192.168.77.1 connect.lab.test & "
    "dig +time=1 +tries=1 @203.0.113.53 connect.lab.test & "
    "ping -n -q -c3 -i0.2 -W1 203.0.113.1 & "
    "curl -s -o /dev/null -m 2 http://connect.lab.test/generate_204 & "
    "wait")
TIME_BIN = "/usr/bin/time"
REFERENCE_TOOLS = ("ping", "dig", "curl", TIME_BIN)
RSS_MARK = "bench-max-rss-kib="
IMPORTTIME_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", re.M)
PACKET_SCENARIO = "pppoe-no-pado"  # PPPoE discovery runs there: scapy must be imported
LOGIN_SCENARIO = "pppoe-pado-no-session"  # the PC dials; the lab's own AC answers the login
LOGIN_MODES = ("accept", "refuse", "pads-error", "lcp-timeout")
REPRODUCE = "sudo python3 benchmarks/bench.py --write docs/performance.md"
MS = 1000


@contextmanager
def fresh_lab(scenario=None):
    """A started lab, broken the scenario's way; stopped on the way out, error or not."""
    lab = Lab()
    try:
        lab.start()
        if scenario is not None:
            scenario.apply(lab)
        yield lab
    finally:
        lab.stop()


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def spread(samples, scale=MS):
    """'median (min–max)' of samples, in ms by default."""
    values = [s * scale for s in samples]
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def report_of(done):
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def verdict_of(done):
    code = (report_of(done) or {}).get("verdict", {}).get("code", "no JSON")
    return f"{code} exit {done.returncode}"


def diagnose_args(lab):
    return ["--json", "--profile", str(lab.profile_path)]


def run_diagnose(lab, scenario=None):
    """(wall seconds, completed process) of one diagnose run in the PC namespace."""
    return timed(lambda: lab.run_diagnose(
        diagnose_args(lab), unprivileged=bool(scenario and scenario.unprivileged),
        env=scenario.env if scenario else None))


def run_reference(lab):
    return timed(lambda: lab.exec_in("pc", ["sh", "-c", REFERENCE_SCRIPT]))


def against_reference(lab, runs):
    """Wall times of diagnose and the reference, alternating which goes first."""
    for _ in range(WARMUP_RUNS):
        run_diagnose(lab)
        run_reference(lab)
    diag, ref = [], []
    for index in range(runs):
        if index % 2:
            ref.append(run_reference(lab)[0])
        wall, done = run_diagnose(lab)
        diag.append(wall)
        if not index % 2:
            ref.append(run_reference(lab)[0])
    return {"diagnose": diag, "reference": ref, "verdict": verdict_of(done),
            "ratio": statistics.median(diag) / statistics.median(ref)}


def scenario_times(lab, scenario, runs):
    for _ in range(WARMUP_RUNS):
        run_diagnose(lab, scenario)
    timings = [run_diagnose(lab, scenario) for _ in range(runs)]
    walls = [wall for wall, _ in timings]
    median_run = sorted(timings, key=lambda t: t[0])[len(timings) // 2][1]
    report = report_of(median_run) or {}
    slowest = max(report.get("checks", []), key=lambda c: c["duration_ms"], default=None)
    return {
        "name": scenario.name, "walls": walls,
        "in_process_ms": report.get("duration_ms"),
        "slowest": f"{slowest['id']} {slowest['duration_ms']}" if slowest else "-",
        "verdict": verdict_of(median_run),
        "expected": verdict_of(median_run) == f"{scenario.code} exit {scenario.exit_code}",
    }


def reported(done):
    """done, after making sure diagnose printed a report (a figure of a crash is no figure)."""
    if report_of(done) is None:
        raise RuntimeError(f"diagnose printed no report (exit {done.returncode}):\n"
                           f"{done.stderr[-2000:]}")
    return done


def scapy_modules(lab):
    """Number of scapy modules `-X importtime` shows for one diagnose run."""
    done = reported(lab.exec_in("pc", [sys.executable, "-X", "importtime", "-m", "diagnose",
                                       *diagnose_args(lab)]))
    return sum(1 for name in IMPORTTIME_LINE.findall(done.stderr)
               if name == "scapy" or name.startswith("scapy."))


def peak_rss_mb(lab):
    """Largest max RSS of the diagnose process over MEMORY_RUNS runs, in MB."""
    peaks = []
    for _ in range(MEMORY_RUNS):
        done = reported(lab.exec_in("pc", [TIME_BIN, "-f", RSS_MARK + "%M", sys.executable,
                                           "-m", "diagnose", *diagnose_args(lab)]))
        peaks.append(int(re.search(RSS_MARK + r"(\d+)", done.stderr).group(1)))
    return max(peaks) * 1024 / 1e6


def packet_level(lab):
    return {"scapy_modules": scapy_modules(lab), "peak_mb": peak_rss_mb(lab)}


def startup(runs):
    """`diagnose --help` against `python -c pass`, on the host (no network touched)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    commands = {"bare": [sys.executable, "-c", "pass"],
                "help": [sys.executable, "-m", "diagnose", "--help"]}

    def once(argv):
        return timed(lambda: subprocess.run(argv, env=env, cwd=REPO_ROOT, check=True,
                                            stdout=subprocess.DEVNULL))[0]

    for argv in commands.values():
        once(argv)
    samples = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(once(argv))
    samples["extra_ms"] = (statistics.median(samples["help"])
                           - statistics.median(samples["bare"])) * MS
    return samples


def measure(runs):
    results = {"runs": runs, "when": datetime.datetime.now(datetime.timezone.utc),
               "machine": machine(), "load_start": os.getloadavg()[0]}
    results["startup"] = startup(STARTUP_RUNS)
    with fresh_lab() as lab:
        results["healthy"] = against_reference(lab, runs)
        results["packet"] = {"healthy": packet_level(lab)}
        lab.wan_down()
        results["wan_down"] = against_reference(lab, runs)
    results["login"] = login_times(runs)
    results["scenarios"] = []
    for scenario in SCENARIOS:
        print(f"scenario {scenario.name} ...", file=sys.stderr, flush=True)
        with fresh_lab(scenario) as lab:
            results["scenarios"].append(scenario_times(lab, scenario, runs))
            if scenario.name == PACKET_SCENARIO:
                results["packet"][PACKET_SCENARIO] = packet_level(lab)
    return results


def login_times(runs):
    """`--pppoe-login` against each behaviour of the lab's access concentrator."""
    dialer = next(s for s in SCENARIOS if s.name == LOGIN_SCENARIO)
    rows = []
    for mode in LOGIN_MODES:
        print(f"test login, AC {mode} ...", file=sys.stderr, flush=True)
        with fresh_lab(dialer) as lab:
            lab.start_ppp_ac(mode)
            timings = [timed(lambda: lab.run_diagnose([*diagnose_args(lab), "--pppoe-login"]))
                       for _ in range(runs)]
        login = next((c["facts"].get("login", {}) for c in
                      (report_of(timings[-1][1]) or {}).get("checks", []) if c["id"] == "pppoe"),
                     {})
        rows.append({"mode": mode, "walls": [wall for wall, _ in timings],
                     "outcome": login.get("outcome", "-"), "verdict": verdict_of(timings[-1][1])})
    return rows


def goals(results):
    """(goal, measured, met) for each goal."""
    slowest = max(results["scenarios"], key=lambda s: max(s["walls"]))
    peak = max(results["packet"].values(), key=lambda p: p["peak_mb"])["peak_mb"]
    ratio = results["healthy"]["ratio"]
    extra = results["startup"]["extra_ms"]
    return [
        (f"healthy network within {GOAL_HEALTHY_RATIO:g}x of the reference (medians)",
         f"{ratio:.2f}x", ratio <= GOAL_HEALTHY_RATIO),
        (f"every fault scenario within {GOAL_SCENARIO_S:g} s (slowest run)",
         f"{max(slowest['walls']):.2f} s ({slowest['name']})",
         max(slowest["walls"]) <= GOAL_SCENARIO_S),
        (f"`--help` within {GOAL_STARTUP_EXTRA_MS} ms of `python -c pass` (medians)",
         f"+{extra:.0f} ms", extra <= GOAL_STARTUP_EXTRA_MS),
        (f"peak memory under {GOAL_PEAK_RSS_MB} MB", f"{peak:.0f} MB", peak < GOAL_PEAK_RSS_MB),
        (f"scapy not imported on the healthy network, imported in {PACKET_SCENARIO}",
         ", ".join(f"{k}: {'yes' if v['scapy_modules'] else 'no'}"
                   for k, v in results["packet"].items()),
         not results["packet"]["healthy"]["scapy_modules"]
         and bool(results["packet"][PACKET_SCENARIO]["scapy_modules"])),
    ]


def tables(results):
    """(title, headers, rows) of every table."""
    pairs = [[name, spread(r["diagnose"]), spread(r["reference"]), f"{r['ratio']:.2f}x",
              r["verdict"]]
             for name, r in (("healthy", results["healthy"]),
                             ("router WAN down", results["wan_down"]))]
    scenarios = [[s["name"], spread(s["walls"]), s["in_process_ms"] or "-", s["slowest"],
                  s["verdict"] + ("" if s["expected"] else " (UNEXPECTED)"),
                  "yes" if max(s["walls"]) <= GOAL_SCENARIO_S else "NO"]
                 for s in results["scenarios"]]
    start = results["startup"]
    packet = [[name, f"yes ({p['scapy_modules']} modules)" if p["scapy_modules"] else "no",
               f"{p['peak_mb']:.1f}"] for name, p in results["packet"].items()]
    return [
        ("Goals", ["goal", "measured", "met"],
         [[goal, got, "yes" if met else "NO"] for goal, got, met in goals(results)]),
        ("Wall time in the lab, ms: median (min–max)",
         ["network", "diagnose --json", "reference script", "ratio", "verdict"], pairs),
        ("Fault scenarios, diagnose alone, ms: median (min–max)",
         ["scenario", "wall", "in-process", "slowest check (ms)", "verdict",
          f"≤ {GOAL_SCENARIO_S:g} s"], scenarios),
        ("PPPoE test login (`--pppoe-login`; it may take longer than 3 s and says so), ms",
         ["access concentrator", "wall", "login outcome", "verdict"],
         [[r["mode"], spread(r["walls"]), r["outcome"], r["verdict"]] for r in results["login"]]),
        (f"Start-up on the host, ms ({STARTUP_RUNS} runs each)",
         ["python -c pass", "diagnose --help", "difference of medians"],
         [[spread(start["bare"]), spread(start["help"]), f"+{start['extra_ms']:.0f}"]]),
        ("Packet-level code and memory (diagnose --json as root)",
         ["network", "scapy imported", f"peak RSS, MB (max of {MEMORY_RUNS})"], packet),
    ]


def plain(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), line("-" * w for w in widths), *map(line, rows)])


def markdown(headers, rows):
    def line(cells):
        return "| " + " | ".join(str(c) for c in cells) + " |"
    return "\n".join([line(headers), line("---" for _ in headers), *map(line, rows)])


def document(results):
    """This benchmark's section of docs/performance.md."""
    parts = [
        "## The fault lab (`benchmarks/bench.py`)",
        "",
        provenance(REPRODUCE, results["when"], results["machine"])
        + f"\n\n{results['runs']} runs per figure; load average {results['load_start']:.1f} as it "
        "started. diagnose starts Python and imports its checks (CPU), the reference mostly waits "
        "on the network: on a loaded machine compare the two within one run, and measure the "
        "goals again on a quiet one.",
        "",
        "How it measures:",
        "",
        "- Everything that sends a packet runs inside the fault lab's PC namespace "
        "(`tests/lab/netlab.py`); only `diagnose --help` runs on the host.",
        "- Wall time is the whole `ip netns exec … python -m diagnose --json --profile <lab "
        "profile>` process, nothing subtracted, against this reference script in the same "
        f"namespace, the two alternating run by run after {WARMUP_RUNS} untimed warm-up run:",
        "",
        f"  ```sh\n  {REFERENCE_SCRIPT}\n  ```",
        "",
        "- Fault scenarios are `SCENARIOS` of `tests/lab/scenarios.py`, each on a fresh lab. "
        "\"In-process\" is the report's own `duration_ms` (the checks); \"slowest check\" "
        "is the check with the largest `duration_ms` in the median run.",
        "- `python` is the interpreter itself (`sys.executable`), never a wrapper such as a "
        "pyenv shim. The checkout runs as the lab runs it, with `PYTHONDONTWRITEBYTECODE=1`: "
        "diagnose's own modules are compiled on every start (pip byte-compiles an install).",
        f"- scapy: `python -X importtime -m diagnose --json …`, scapy modules counted on stderr. "
        f"Peak memory: max RSS of the diagnose process under `{TIME_BIN}`.",
    ]
    for title, headers, rows in tables(results):
        parts += ["", f"### {title}", "", markdown(headers, rows)]
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per figure")
    parser.add_argument("--write", metavar="PATH", help="write its section of this Markdown file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (the fault lab needs network namespaces)")
    # A missing tool would make the reference script fail at once and look fast.
    missing = [tool for tool in REFERENCE_TOOLS if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench.py: the reference script needs {', '.join(missing)} "
                 "(Debian: bind9-dnsutils for dig, curl, iputils-ping, time)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the labs on kill too
    results = measure(max(1, args.runs))
    for title, headers, rows in tables(results):
        print(f"\n{title}\n{plain(headers, rows)}")
    if args.write:
        write_section(__file__, document(results), Path(args.write))


if __name__ == "__main__":
    main()
