"""docs/performance.md is one file in sections, each written by one benchmark script
(benchmarks/sections.py): writing one section keeps every other byte."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.sections import (PERFORMANCE, PREAMBLE, SectionError, replace_section, sections,
                                 write_section)

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_a_new_file_gets_the_preamble_and_the_section(tmp_path):
    path = tmp_path / "performance.md"
    write_section("benchmarks/bench.py", "## Lab\n\nfigures", path)
    text = path.read_text()
    assert text.startswith(PREAMBLE) and sections(text) == ["benchmarks/bench.py"]
    assert "<!-- begin benchmarks/bench.py -->\n## Lab\n\nfigures\n<!-- end benchmarks/bench.py -->\n" in text


def test_writing_one_section_keeps_every_other_byte():
    text = replace_section("", "bench.py", "## Lab\n\nold lab")
    text = replace_section(text, "wine_bench.py", "## Wine\n\nby hand: a note")
    text = replace_section(text, "server_bench.py", "## Server")
    again = replace_section(text, "wine_bench.py", "## Wine\n\nnew figures")
    assert again == text.replace("by hand: a note", "new figures")
    assert sections(again) == ["benchmarks/bench.py", "benchmarks/wine_bench.py",
                               "benchmarks/server_bench.py"]
    assert replace_section(again, "/anywhere/benchmarks/wine_bench.py", "## Wine\n\nnew figures") == again


def test_a_new_section_goes_at_the_end():
    text = replace_section(PREAMBLE + "\nA note by hand.\n", "bench.py", "## Lab")
    assert text.index("A note by hand.") < text.index("## Lab")


@pytest.mark.parametrize("broken", [
    "<!-- begin benchmarks/bench.py -->\nno end\n",
    "<!-- end benchmarks/bench.py -->\n",
    "<!-- begin benchmarks/a.py -->\n<!-- begin benchmarks/b.py -->\n<!-- end benchmarks/b.py -->\n",
    "<!-- begin benchmarks/a.py -->\n<!-- end benchmarks/a.py -->\n" * 2,
])
def test_broken_markers_are_refused_not_guessed(broken):
    with pytest.raises(SectionError):
        replace_section(broken, "bench.py", "## Lab")


def test_every_section_of_the_doc_is_written_by_a_script_that_exists():
    named = sections(PERFORMANCE.read_text(encoding="utf-8"))
    assert named
    for name in named:
        script = BENCHMARKS / Path(name).name
        assert script.is_file() and "write_section(__file__" in script.read_text(), name
