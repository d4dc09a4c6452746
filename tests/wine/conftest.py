"""The Wine lab: the official Windows CPython, with this package as subscribers get it (the zip
that make_windows_zip.py builds), run under Wine inside the fault lab's PC namespace.

One Wine prefix for the session (creating one takes 15-30 s), built once with the Windows
install on drive D: and WITHOUT the Z: drive: with Z: a Windows process reads the host's /proc,
/sys and /etc and passes for the wrong reason. Each run maps the lab's folder to L: (its
profile) and stops the prefix's wineserver before and after, since one wineserver serves every
process of a prefix and one started in another namespace sees that namespace's adapters.
Without root, Wine or the lab's tools the tests skip; with CI=true they fail instead.
"""
from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.conftest import missing_requirements
from tests.lab.netlab import Lab

REPO = Path(__file__).resolve().parents[2]
WINE_DIR = Path(__file__).resolve().parent
WINE_BINARIES = ("wine", "wineserver", "osslsigncode")
WINE_TEST_TIMEOUT = 600   # the first test also builds the zip and the prefix (minutes under load)
PREFIX_TIMEOUT = 240   # wineboot on a loaded two-core machine
RUN_TIMEOUT = 120
WINE_ENV = {"WINEDEBUG": "-all",
            # no Mono or Gecko installer dialogs on a machine without a display
            "WINEDLLOVERRIDES": "mscoree,mshtml="}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WINE_DIR not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.wine)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(WINE_TEST_TIMEOUT))


def require_wine():
    reasons = missing_requirements()
    missing = [b for b in WINE_BINARIES if shutil.which(b) is None]
    if missing:
        reasons.append("missing binaries: " + ", ".join(missing) + " (Debian: wine wine64 osslsigncode)")
    if not reasons:
        return
    message = "Wine lab unavailable: " + "; ".join(reasons)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the Wine lab must not be skipped)", pytrace=False)
    pytest.skip(message)


class WindowsInstall:
    """The built Windows install in a Wine prefix without Z:."""

    def __init__(self, root: Path):
        self.root = root
        self.prefix = root / "prefix"
        self.env = {**WINE_ENV, "WINEPREFIX": str(self.prefix)}
        self.timings: dict[str, float] = {}

    def wine_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def build(self) -> None:
        sys.path.insert(0, str(REPO))
        import make_windows_zip
        started = time.monotonic()
        self.zip = make_windows_zip.make_zip(make_windows_zip.build_tree(self.root / "tree"),
                                             self.root / "broadband-diagnose-windows.zip")
        self.tree = self.root / "tree" / make_windows_zip.TOP
        self.timings["build_s"] = time.monotonic() - started
        started = time.monotonic()
        subprocess.run(["wine", "wineboot", "-i"], env=self.wine_env(), check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=PREFIX_TIMEOUT)
        self.stop_server()
        dosdevices = self.prefix / "dosdevices"
        (dosdevices / "z:").unlink(missing_ok=True)
        (dosdevices / "d:").symlink_to(self.tree)
        self.timings["prefix_s"] = time.monotonic() - started

    def stop_server(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.wine_env(), capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=30)
        subprocess.run(["wineserver", "-w"], env=self.wine_env(), capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=30)

    def prepare(self, lab: Lab) -> None:
        """Lab's folder as L:; the host name resolvable in the PC namespace (Wine looks it up at
        every start, about 10 s without an answer); the namespace's hosts file as Windows' own
        (Wine's resolver reads the Linux one, the backend reads Windows' path: on Windows they
        are one file)."""
        letter = self.prefix / "dosdevices" / "l:"
        letter.unlink(missing_ok=True)
        letter.symlink_to(lab.tmpdir)
        hosts = lab.netns_etc("pc") / "hosts"
        name = socket.gethostname()
        if name not in hosts.read_text():
            with hosts.open("a") as file:
                file.write(f"127.0.1.1\t{name}\n")
        shutil.copyfile(hosts, self.prefix / "drive_c" / "windows" / "system32" / "drivers" / "etc"
                        / "hosts")

    def run(self, lab: Lab, argv: list[str], *, env: dict | None = None, role: str = "pc",
            timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
        """Run a Windows program (D:\\diagnose.exe, D:\\python\\python.exe) in lab's namespace."""
        self.prepare(lab)
        self.stop_server()
        try:
            # stdout and stderr are pipes: Windows Python under Wine aborts if stderr is a file
            return lab.exec_in(role, ["wine", *argv], env={**self.env, **(env or {})},
                               input="", timeout=timeout)
        finally:
            self.stop_server()


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")   # Wine's console emulation on a terminal


class ConsoleRun:
    """A Windows program on a console of its own, as a double-click gives it: a terminal (pty)
    on stdin, stdout and stderr, which Wine turns into a Windows console."""

    def __init__(self, install: WindowsInstall, lab: Lab, argv: list[str]):
        install.prepare(lab)
        install.stop_server()
        self.install = install
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(lab._command("pc", ["wine", *argv], False), stdin=slave,
                                     stdout=slave, stderr=slave, cwd="/", start_new_session=True,
                                     env=lab._clean_env(env=install.env))
        os.close(slave)
        self.seen = ""

    def read_until(self, text: str, timeout: float) -> bool:
        """Read the console until text shows (True) or the time is up or the program ended."""
        deadline = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:   # the program ended and closed the terminal
                break
            self.seen = ANSI_ESCAPE.sub("", self.seen + chunk.decode("utf-8", "replace"))
        return text in self.seen

    def press_a_key(self) -> None:
        os.write(self.master, b"x")

    def close(self) -> int | None:
        try:
            return self.proc.wait(timeout=RUN_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            os.close(self.master)
            self.install.stop_server()


@pytest.fixture(scope="session")
def windows_install(tmp_path_factory):
    require_wine()
    install = WindowsInstall(tmp_path_factory.mktemp("wine"))
    install.build()
    yield install
    install.stop_server()


@pytest.fixture
def wine_lab(windows_install):
    lab = Lab()
    lab.start()
    try:
        yield lab
    finally:
        windows_install.stop_server()
        lab.stop()
