"""The one YAML loader refuses what would cost time or memory: huge files, alias bombs, deep
nesting, cycles, FIFOs and devices; for the profile and the rule pack alike."""
from __future__ import annotations

import os
import threading

import pytest

from diagnose import yamlfile
from diagnose.errors import ConfigError
from diagnose.exit_codes import ExitCode

from ._cli import assert_refused, diagnose

# 342 bytes that expand to 9**9 (387 million) strings.
ALIAS_BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    for previous, name in zip("abcdefgh", "bcdefghi"))


def write(tmp_path, text, name="file.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    assert len(ALIAS_BOMB) < 400
    with pytest.raises(ConfigError, match="aliases"):
        yamlfile.read(write(tmp_path, ALIAS_BOMB))


@pytest.mark.parametrize("text, words", [
    ("&a [*a]\n", "contains it"),
    ("a: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(yamlfile.MAX_ALIASES + 1)), "aliases"),
    ("[" * (yamlfile.MAX_DEPTH + 1) + "]" * (yamlfile.MAX_DEPTH + 1), "nested deeper"),
    ("".join("  " * i + f"k{i}:\n" for i in range(yamlfile.MAX_DEPTH + 1)), "nested deeper"),
    ("[" * 100_000 + "]" * 100_000, "not valid YAML"),   # libyaml's own limit, or ours
    ("n: " + "9" * 5000 + "\n", "not valid YAML"),        # int() refuses more than 4300 digits
    ("? [a]\n: 1\n", "not valid YAML"),                   # a list cannot be a key
])
def test_structure_beyond_the_limits_is_a_config_error(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        yamlfile.read(write(tmp_path, text))


def test_anchors_within_the_limits_still_work(tmp_path):
    data, lines = yamlfile.read(write(tmp_path, "a: &x {k: [1, 2]}\nb: *x\nc: *x\n"))
    assert data == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": {"k": [1, 2]}}
    assert lines[("c",)] == 3


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:   # sparse: 35 MB that cost no disk
        handle.truncate(35 * 1024 * 1024)
    with pytest.raises(ConfigError, match="larger than"):
        yamlfile.read(str(path))


def test_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        yamlfile.read(str(path))


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "/dev/urandom", "/"])
def test_only_regular_files_are_read(special):
    if not os.path.exists(special):
        pytest.skip(f"{special} does not exist here")
    with pytest.raises(ConfigError, match="not a regular file"):
        yamlfile.read(special)


def test_a_fifo_without_writer_does_not_block(tmp_path):
    fifo = tmp_path / "profile.yaml"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(str(fifo))), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():   # unblock the reader before failing, so the suite can go on
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    assert outcome == ["not a regular file"]


def _refusal(path: str) -> str | None:
    try:
        yamlfile.read(path)
    except ConfigError as exc:
        return exc.message
    return None


# ------------------------------------------------------------------ as a subscriber meets it
@pytest.mark.parametrize("option", ["--profile", "--rules"])
@pytest.mark.parametrize("make, words", [
    (lambda tmp: write(tmp, ALIAS_BOMB), "aliases"),
    (lambda tmp: _sparse(tmp, 35 * 1024 * 1024), "larger than"),
    (lambda tmp: _fifo(tmp), "not a regular file"),
    (lambda tmp: "/dev/zero", "not a regular file"),
])
def test_the_cli_refuses_hostile_files_with_exit_78_in_time(tmp_path, option, make, words):
    path = make(tmp_path)
    args = ["--profile", path, "--only", "interfaces"] if option == "--profile" else [
        "--rules", path, "rules", "check"]
    ran = diagnose(*args)
    assert_refused(ran, ExitCode.CONFIG, path, words)


def _sparse(tmp_path, size):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.write(b"name: x\n")
        handle.truncate(size)
    return str(path)


def _fifo(tmp_path):
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return str(path)


def test_docs_state_the_limits_the_loader_enforces():
    from pathlib import Path

    from diagnose import profile
    docs = Path(__file__).resolve().parents[2] / "docs" / "profile.md"
    text = docs.read_text(encoding="utf-8")
    assert f"| file size | {yamlfile.MAX_BYTES // (1024 * 1024)} MiB" in text
    assert f"| {yamlfile.MAX_DEPTH} levels |" in text
    assert f"| {yamlfile.MAX_ALIASES} |" in text
    assert f"| {yamlfile.MAX_NODES:,} " in text
    assert f"at most {profile.MAX_TEXT} of them" in text and f"at most {profile.MAX_ITEMS} items" in text
