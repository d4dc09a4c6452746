"""The installation id: made once, kept, the same for runs that start together, in every report."""
from __future__ import annotations

import os
import stat
import threading
import uuid

from diagnose import installation


def test_made_once_and_kept(tmp_path):
    first = installation.installation_id(tmp_path)
    assert str(uuid.UUID(first)) == first
    assert installation.installation_id(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / installation.FILE_NAME).st_mode) == 0o600


def test_a_damaged_file_is_replaced_with_a_valid_id(tmp_path):
    (tmp_path / installation.FILE_NAME).write_bytes(b"\xff not an id")
    made = installation.installation_id(tmp_path)
    assert str(uuid.UUID(made)) == made
    assert installation.installation_id(tmp_path) == made


def test_runs_starting_together_agree(tmp_path):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(installation.installation_id(tmp_path)))
               for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1


def test_an_unwritable_folder_raises_oserror(tmp_path):
    missing = tmp_path / "no" / "such"
    try:
        installation.installation_id(missing)
    except OSError:
        return
    raise AssertionError("expected OSError")


def test_without_hard_links_the_id_is_still_made_and_kept(tmp_path, monkeypatch):
    def no_links(*_args):
        raise PermissionError("no hard links on this file system")
    monkeypatch.setattr(os, "link", no_links)
    made = installation.installation_id(tmp_path)
    assert installation.installation_id(tmp_path) == made
    assert not [p for p in tmp_path.iterdir() if p.name != installation.FILE_NAME]
