"""docs/performance.md is one generated file in sections, one section per benchmark script.

Each section sits between two markers named after the script that writes it:

    <!-- begin benchmarks/bench.py -->
    ## The fault lab (benchmarks/bench.py)
    ...
    <!-- end benchmarks/bench.py -->

A script replaces only its own section (`write_section`) and keeps every other byte of the file,
so re-running one benchmark never wipes another's figures. A section not yet in the file is added
at its end. A script's section starts with a `##` heading and `provenance(...)`: when, on what,
and the command that reproduces it.

    from benchmarks.sections import provenance, write_section
    write_section(__file__, "## Title\\n\\n" + provenance("python3 benchmarks/x.py --runs 5") + ...,
                  Path(args.write))
"""
from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE = REPO_ROOT / "docs" / "performance.md"
PREAMBLE = """# Performance

Speed is measured by the scripts in `benchmarks/`, never asserted in tests. This file is
generated: each section below is written by the script it names, which replaces only its own
section (`benchmarks/sections.py`); the command that reproduces each section is in it.
"""


class SectionError(ValueError):
    """The file's markers are broken: a section begins twice, or never ends."""


def _name(script: str | os.PathLike) -> str:
    return f"benchmarks/{Path(script).name}"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- begin {name} -->", f"<!-- end {name} -->"


def sections(text: str) -> list[str]:
    """The names of the sections in a document, in order; SectionError if a marker is broken."""
    names = re.findall(r"^<!-- (begin|end) (\S+) -->$", text, re.M)
    found, open_name = [], None
    for kind, name in names:
        if kind == "begin" and open_name is None and name not in found:
            open_name = name
        elif kind == "end" and name == open_name:
            found.append(name)
            open_name = None
        else:
            raise SectionError(f"broken section marker: {kind} {name}")
    if open_name is not None:
        raise SectionError(f"section {open_name} never ends")
    return found


def replace_section(text: str, script: str | os.PathLike, body: str) -> str:
    """The document with the script's section set to body (added at the end if new)."""
    name = _name(script)
    begin, end = _markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    if name in sections(text):
        start = text.index(begin + "\n")
        stop = text.index(end, start) + len(end)
        return text[:start] + block + text[stop:]
    return (text.rstrip("\n") + "\n\n" if text.strip() else PREAMBLE + "\n") + block + "\n"


def write_section(script: str | os.PathLike, body: str, path: Path = PERFORMANCE) -> None:
    """Write the script's section of the document at path, keeping everything else."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(replace_section(text, script, body), encoding="utf-8")


def machine() -> str:
    """CPUs, kernel, Python and commit: what a figure was measured on."""
    cpuinfo = Path("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read_text(), re.M) if cpuinfo.exists() else None
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    return (f"{os.cpu_count()} CPUs ({model.group(1) if model else 'unknown CPU'}), "
            f"Linux {platform.release()}, Python {platform.python_version()}, commit {commit}")


def provenance(command: str, when: datetime.datetime | None = None,
               measured_on: str | None = None) -> str:
    """The sentence a section starts with: when, on what, at which load, and how to reproduce it.
    A long benchmark passes `when` and `measured_on` (machine()) taken as it starts, so a commit
    made meanwhile is not named."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"Measured {when:%Y-%m-%d %H:%M} UTC on {measured_on or machine()}; load average "
            f"{load:.1f} when written. Reproduce it from the repository root with:\n\n"
            f"```sh\n{command}\n```")
