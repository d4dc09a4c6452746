"""What pyproject.toml installs: the rule pack as package data, nothing named rules or cli at the top."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # Offline: the test extras bring the build backend, so pip fetches nothing.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True)
    return zipfile.ZipFile(next(out.glob("*.whl")))


def test_wheel_ships_the_rule_pack_inside_the_package(wheel):
    names = wheel.namelist()
    shipped = {Path(n).name for n in names if n.startswith("diagnose/rules/")}
    assert shipped == {p.name for p in (ROOT / "rules").glob("*.yaml")}
    assert not [n for n in names if n.split("/")[0] in ("rules", "cli.py", "tests")]


def test_installed_layout_finds_the_pack(tmp_path, wheel):
    wheel.extractall(tmp_path)
    done = subprocess.run([sys.executable, "-c", "from diagnose.engine import pack; print(pack.default_dir())"],
                          cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True)
    assert done.stdout.strip() == str(tmp_path / "diagnose" / "rules")


def test_wheel_metadata_describes_the_project(wheel):
    from diagnose import __version__
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert f"Version: {__version__}\n" in metadata              # one source for the version
    assert "Summary: " in metadata and "Classifier: " in metadata and "Author: " in metadata
    requires = {line.split()[1].split(">")[0] for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert {"click", "urllib3", "dnspython", "defusedxml"} <= requires
