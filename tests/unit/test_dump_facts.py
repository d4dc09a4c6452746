"""`diagnose facts`: the raw platform facts as JSON, redacted as reports are."""
from __future__ import annotations

import json
import subprocess
import sys

from diagnose.platform import windows


def test_dump_facts_writes_redacted_json(tmp_path):
    out = tmp_path / "facts.json"
    done = subprocess.run([sys.executable, "-m", "diagnose", "facts", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dump = json.loads(out.read_text())
    assert dump["os"] == "linux" and dump["format"] == 1
    assert isinstance(dump["facts"]["adapters"], list)
    macs = [a["mac"] for a in dump["facts"]["adapters"] if a["mac"]]
    real = [line.split()[0] for line in _sys_macs()]
    assert not set(real) & set(macs)                  # placeholders, never the machine's MACs


def _sys_macs():
    from pathlib import Path
    for path in Path("/sys/class/net").glob("*/address"):
        text = path.read_text().strip()
        if text and text != "00:00:00:00:00:00":
            yield text


def test_a_windows_snapshot_round_trips_through_json(tmp_path):
    from tests.unit.test_platform_windows import SNAPSHOT
    again = json.loads(json.dumps(SNAPSHOT, ensure_ascii=False))
    assert windows.map_adapters(again) == windows.map_adapters(SNAPSHOT)
