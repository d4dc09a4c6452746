"""The installation id: a random UUID made once per installation and kept in its data folder.

Every report carries it (``"installation"``) so the operator's server can count distinct
subscribers reporting one outage without learning who they are: it is random, says nothing about
the machine, and a new data folder makes a new one.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import suppress
from pathlib import Path

from .datadir import fsync_dir

FILE_NAME = "installation"
_UUID_TEXT_LENGTH = 36


def installation_id(folder: os.PathLike | str) -> str:
    """The id kept in folder, made on first use (mode 0600). Raises OSError.

    A new id is written whole to a temp file, then hard-linked to its name: the link fails if
    another run made the id first, so runs starting together keep the same one and nobody ever
    reads a half-written id.
    """
    path = Path(folder) / FILE_NAME
    kept = _read(path)
    if kept:
        return kept
    made = str(uuid.uuid4())
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".installation.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(made)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            kept = _read(path)
            if kept:
                return kept
            os.replace(temp, path)   # a damaged id: replaced whole
        except OSError:   # no hard links here (FAT, some Windows shares): rename instead
            kept = _read(path)
            if kept:
                return kept
            os.replace(temp, path)
    finally:
        with suppress(OSError):
            os.unlink(temp)
    fsync_dir(path.parent)
    return made


def _read(path: Path) -> str | None:
    with suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="ascii").strip()
        with suppress(ValueError):
            if len(text) == _UUID_TEXT_LENGTH and str(uuid.UUID(text)) == text:
                return text
    return None
