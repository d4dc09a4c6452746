"""One exclusive lock per queued report, so two runs never POST the same report at once.

An fcntl.flock on queue/locks/<name>.lock: the kernel drops it when its holder dies, even by
SIGKILL. The lock file may be removed while held (once its report is delivered); a run that
then locks the orphaned file notices (different inode) and tries again."""
from __future__ import annotations

import errno
import os
import sys
from contextlib import suppress
from pathlib import Path

from ..clock import SYSTEM, Clock
from ..datadir import make_private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

POLL_S = 0.05   # how often a waiting run tries again


class ReportLock:
    def __init__(self, qdir: Path, name: str, clock: Clock = SYSTEM):
        self.path = make_private_dir(qdir / "locks") / f"{name}.lock"
        self.fd: int | None = None
        self.clock = clock

    def acquire(self, wait: float) -> bool:
        deadline = self.clock.monotonic() + max(wait, 0.0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            if _try_lock(fd):
                # The holder before us may have removed the file: then we locked an orphan.
                with suppress(OSError):
                    if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                        self.fd = fd
                        return True
            os.close(fd)
            if self.clock.monotonic() >= deadline:
                return False
            self.clock.sleep(POLL_S)

    def release(self, remove: bool = False) -> None:
        if self.fd is None:
            return
        if remove:
            with suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)  # closing drops the lock
        self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform != "win32" and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        raise
    return True
