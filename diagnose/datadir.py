"""Where diagnose keeps the subscriber's own data: the report queue and the verdict history.

$DIAGNOSE_DATA_DIR when set (tests, portable use), else $XDG_DATA_HOME/diagnose, else
~/.local/share/diagnose (%LOCALAPPDATA%\\diagnose on Windows). The folders diagnose creates
are private to the user (mode 0700); a folder that already exists keeps its permissions.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Mapping

PRIVATE_DIR_MODE = 0o700


def data_dir(env: Mapping[str, str] = os.environ, *, create: bool = True) -> Path:
    """The data folder (absolute), created with mode 0700 unless create=False."""
    path = _choose(env)
    if create:
        make_private_dir(path)
    return path


def _choose(env: Mapping[str, str]) -> Path:
    given = env.get("DIAGNOSE_DATA_DIR")
    if given:
        return Path(given).expanduser().absolute()
    xdg = env.get("XDG_DATA_HOME")
    # The XDG spec says a relative $XDG_DATA_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "diagnose"
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "diagnose"
    home = env.get("HOME")
    base = Path(home) if home else Path.home()
    return base / ".local" / "share" / "diagnose"


def make_private_dir(path: Path) -> Path:
    """Create path and its missing parents with mode 0700 (whatever the umask); keep existing ones."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by another diagnose: leave it as it is
        os.chmod(folder, PRIVATE_DIR_MODE)  # the umask may have taken bits away
    if not path.is_dir():
        raise NotADirectoryError(f"not a folder: {path}")
    return path


def atomic_write(path: Path, data: bytes, *, mode: int | None = None,
                 owner: tuple[int, int] | None = None) -> None:
    """Either the whole new content is at path, or path is as it was: never a half file.

    Temp file in the same folder, fsync, os.replace, then fsync of the folder. The file gets
    `mode` (default 0600) and, when running as root, `owner` (uid, gid) where the system has them.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if owner is not None and sys.platform != "win32" and os.geteuid() == 0:
                os.fchown(handle.fileno(), *owner)
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in folder durable (best effort: not every system allows it)."""
    if sys.platform == "win32":
        return
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
