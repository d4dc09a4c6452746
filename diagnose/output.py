"""Where the product goes: standard output, or a file the user named with -o.

Standard streams: a stream that was closed when diagnose started (`>&-`, `2>&-`) is opened on
the null device so no file diagnose opens can take its number; stdout then counts as unusable
(write_stdout raises OutputError), stderr messages are dropped. Text that the stream's encoding
cannot carry is written as backslash escapes rather than lost (PYTHONIOENCODING=ascii). On
Windows a pipe or file is written in UTF-8, not the ANSI code page.

User-named files (UserFile): whole or not at all. A regular file (or a new one) is
replaced atomically and keeps its mode and owner; a new file gets the usual mode (0666 less the
umask) and, under sudo, the invoking user as owner. A symlink is kept and its target written.
Something that is not a regular file is never replaced: a device (/dev/null, /dev/full) or a
FIFO with a reader is written into, a folder or socket (or a FIFO nobody reads) is refused.
"""
from __future__ import annotations

import errno
import io
import os
import stat
import sys
from contextlib import suppress
from pathlib import Path

_stdout_closed = False


class OutputError(OSError):
    """The product could not be written where it was asked for."""


def guard_standard_streams() -> None:
    """At process start: a closed fd 0-2 is opened on the null device; encodings never fail."""
    global _stdout_closed
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, mode)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 1:
                _stdout_closed = True
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None:   # Python saw the closed fd at start
            stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                      line_buffering=True)
            setattr(sys, name, stream)
        with suppress(AttributeError, ValueError):
            if windows_code_page_stream(stream):
                stream.reconfigure(encoding="utf-8", errors="backslashreplace")
            else:
                stream.reconfigure(errors="backslashreplace")


def windows_code_page_stream(stream) -> bool:
    """A pipe or file on Windows that Python gave the ANSI code page (cp1252 on a Western
    Windows cannot hold Chinese): it gets UTF-8 instead, which every report fits and Notepad and
    JSON readers read. A console gets Unicode anyway; PYTHONIOENCODING or UTF-8 mode is the
    user's own choice and stays."""
    if sys.platform != "win32" or os.environ.get("PYTHONIOENCODING") or sys.flags.utf8_mode:
        return False
    try:
        return not stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def stdout_speaks_unicode() -> bool:
    """Can standard output carry any text (else JSON is written with ASCII escapes)?"""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding.startswith(("utf", "gb18030"))


def write_stdout(text: str) -> None:
    """The product on stdout, flushed; OutputError when stdout is closed or broken."""
    if _stdout_closed or sys.stdout is None:
        raise OutputError(errno.EBADF, os.strerror(errno.EBADF))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:   # ValueError: the stream was closed
        drop_stdout()
        raise OutputError(getattr(exc, "errno", None) or errno.EPIPE,
                          getattr(exc, "strerror", None) or str(exc)) from None


def drop_stdout() -> None:
    """After a broken pipe: what is still buffered is dropped, not flushed again at exit."""
    with suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)


def say(message: str) -> None:
    """A line for people on stderr; a closed or broken stderr is no reason to fail."""
    with suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


# ---------------------------------------------------------------- files the user names

def target_of(path: str) -> Path:
    """What -o PATH writes: the file itself, or the end of its chain of symlinks."""
    return Path(os.path.realpath(os.path.abspath(path)))


class UserFile:
    """A file the user named with -o, checked (and a device or FIFO opened) before any probe,
    written at the end by write()."""

    def __init__(self, path: str):
        self.path = path
        self.target = target_of(path)
        self._special = None     # a device or FIFO, held open from the start
        try:
            info = self.target.stat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from None
        if info is not None and not stat.S_ISREG(info.st_mode):
            self._special = _open_special(self.target, info)
            return
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError(errno.ENOENT, os.strerror(errno.ENOENT) + f": {folder}")
        if not os.access(folder, os.W_OK | os.X_OK) or (info and not os.access(self.target, os.W_OK)):
            raise OutputError(errno.EACCES, os.strerror(errno.EACCES))
        if _read_only_mount(folder):
            raise OutputError(errno.EROFS, os.strerror(errno.EROFS))

    def write(self, data: bytes) -> None:
        """The whole data, or OutputError (a regular file is then as it was)."""
        try:
            if self._special is not None:
                with self._special as handle:
                    handle.write(data)
                    handle.flush()
                return
            try:
                info = self.target.stat()
            except FileNotFoundError:
                info = None
            _replace_regular(self.target, data, info)
        except OutputError:
            raise
        except (OSError, ValueError) as exc:
            raise OutputError(getattr(exc, "errno", None) or errno.EIO,
                              getattr(exc, "strerror", None) or str(exc)) from None


def _read_only_mount(folder: Path) -> bool:
    """os.access() says yes to root even on a read-only file system."""
    if sys.platform == "win32":   # no statvfs
        return False
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _open_special(target: Path, info: os.stat_result):
    """A device or a FIFO opened for writing into (never truncated, never replaced)."""
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise OutputError(errno.EINVAL, "not a file, device or FIFO")
    try:   # non-blocking open: a FIFO nobody reads is refused (ENXIO) instead of waiting forever
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(exc.errno, exc.strerror) from None
    if sys.platform != "win32":
        os.set_blocking(fd, True)
    return os.fdopen(fd, "wb")


def _replace_regular(target: Path, data: bytes, info: os.stat_result | None) -> None:
    from .datadir import atomic_write
    if info is not None:    # keep what the file was: its owner and mode
        atomic_write(target, data, owner=(info.st_uid, info.st_gid), mode=stat.S_IMODE(info.st_mode))
    else:                   # a new file as the shell would make it, for whoever ran sudo
        atomic_write(target, data, owner=_invoking_user(), mode=0o666 & ~_umask())


def _invoking_user() -> tuple[int, int] | None:
    """Under sudo, the user who ran sudo: the file is theirs, not root's."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if uid.isdigit() and gid.isdigit():
        return int(uid), int(gid)
    return None


def _umask() -> int:
    """The process's umask, read without changing it where the system says (probe threads may
    be creating files meanwhile)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
