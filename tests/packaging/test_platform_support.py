"""The package loads on every OS: a Linux-only call or import at load time fails here, not on a
subscriber's Windows PC.

Two guards: mypy type-checks the package as if on Windows and on macOS (typeshed knows which
functions exist where, and mypy follows `sys.platform` tests), and any error that appears there
but not on Linux is a Linux-only call; and the entry points are imported in a Python where the
POSIX-only modules are missing, as on Windows. The real proof is the Wine lab (tests/wine).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Standard library modules that Windows' Python does not have.
POSIX_ONLY = ("fcntl", "termios", "pwd", "grp", "resource", "tty", "pty", "syslog", "crypt")
_MYPY_ERROR = re.compile(r"^(?P<where>[^:]+:\d+): error: (?P<message>.*)$")


def _mypy_errors(platform: str, cache: Path) -> set[str]:
    # Only the standard library's stubs (--no-site-packages): they say what each OS has, and
    # leaving the dependencies out keeps this to a few seconds.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", platform, "--ignore-missing-imports",
         "--no-site-packages", "--no-error-summary", "--cache-dir", str(cache / platform),
         "diagnose"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr or done.stdout   # 2: mypy itself failed
    return {line for line in done.stdout.splitlines() if _MYPY_ERROR.match(line)}


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy")


@pytest.fixture(scope="module")
def linux_errors(mypy_cache) -> set[str]:
    return _mypy_errors("linux", mypy_cache)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_no_linux_only_call_type_checks_on(platform, linux_errors, mypy_cache):
    linux = linux_errors
    other = _mypy_errors(platform, mypy_cache)
    only_there = sorted(other - linux)
    assert not only_there, (f"calls that do not exist on {platform} (guard them with "
                            f"`if sys.platform ...` or move them into a Linux backend):\n"
                            + "\n".join(only_there))


def test_mypy_sees_a_linux_only_call(tmp_path):
    """The guard above can fail: os.geteuid unguarded is caught for win32."""
    package = tmp_path / "diagnose"
    package.mkdir()
    (package / "__init__.py").write_text("import os\n\nUID = os.geteuid()\n")
    done = subprocess.run([sys.executable, "-m", "mypy", "--platform", "win32",
                           "--no-site-packages", "--cache-dir", str(tmp_path / "cache"), "diagnose"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert 'Module has no attribute "geteuid"' in done.stdout


_IMPORT_AS_ON_WINDOWS = """
import sys
for name in {modules!r}:
    sys.modules[name] = None          # `import fcntl` now fails, as on Windows
import diagnose.cli, diagnose.diagnosis, diagnose.checks, diagnose.platform.windows
from diagnose.cli import main
sys.argv = ["diagnose", "--help"]
sys.exit(main())
"""


def test_entry_points_import_without_posix_modules():
    done = subprocess.run([sys.executable, "-c", _IMPORT_AS_ON_WINDOWS.format(modules=POSIX_ONLY)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


OS_SPECIFIC = ("diagnose.platform.linux", "diagnose.platform.windows", "diagnose.platform.macos",
               "diagnose.net.ethtool", "diagnose.net.resolvconf", "fcntl", "winreg", "msvcrt")


def test_no_check_imports_an_os_specific_module():
    import ast
    found = []
    for path in sorted((ROOT / "diagnose" / "checks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = (("diagnose." if node.level == 2 else "diagnose.checks." if node.level == 1
                           else "") + (node.module or ""))
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.name}: {name}" for name in names if name in OS_SPECIFIC]
    assert not found
