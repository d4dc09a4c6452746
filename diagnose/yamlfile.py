"""The one YAML loader for profiles and rule files: safe, bounded, and remembering where each key
came from, for messages naming file and line.

A profile or rule file is untrusted input, so the loader sets limits well above any real file
(the shipped rule pack is about 60 KiB in 14 files, its largest file 17 KiB) and refuses
anything beyond them before it can cost time or memory. Only regular files are read: a FIFO or a
device (/dev/zero) is refused at once. docs/profile.md and docs/rules.md state the limits.
"""
from __future__ import annotations

import os
import stat
from typing import Any

import yaml

from .errors import ConfigError
from .i18n import N_

MAX_BYTES = 1024 * 1024   # one file; checked before reading and again while reading
MAX_DEPTH = 32            # nested mappings and lists (a rule condition needs about 6)
MAX_ALIASES = 100         # uses of an anchor (*name)
MAX_NODES = 20_000        # values after expanding aliases (the largest shipped rule file has 340);
                          # a 400-byte alias bomb would expand to hundreds of millions

Lines = dict[tuple, int]
# libyaml's parser when present (several times faster); both are the safe loader, with line marks.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, path: str) -> tuple[Any, Lines]:
    """Parse one YAML document with the safe loader; return the data and {key path: line}."""
    if len(text) > MAX_BYTES:
        raise _too_large(path)
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: Lines = {}
        if node is not None:
            _Walk(path, lines).measure(node)
            _Walk(path, lines).visit(node, (), 1)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(N_("not valid YAML: {problem}"), problem=exc.problem or exc.context, path=path,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(N_("not valid YAML: {problem}"), problem=str(exc), path=path) from None
    except RecursionError:   # the pure-Python parser, without libyaml's own nesting limit
        raise _too_deep(path, None) from None
    except ValueError as exc:   # a constructor's own refusal, e.g. an integer of 5000 digits
        raise ConfigError(N_("not valid YAML: {problem}"), problem=str(exc)[:100], path=path) from None
    finally:
        loader.dispose()
    return data, lines


def read(path: str) -> tuple[Any, Lines]:
    """Read and parse a regular file of at most MAX_BYTES; never blocks on a FIFO or a device."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(N_("file not found"), path=path) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(N_("cannot read: {problem}"), problem=_problem(exc), path=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(N_("not a regular file"), path=path)
        if info.st_size > MAX_BYTES:
            raise _too_large(path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_BYTES + 1)    # the file may grow after fstat
        if len(raw) > MAX_BYTES:
            raise _too_large(path)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(N_("not UTF-8 text"), path=path) from None
    except OSError as exc:
        raise ConfigError(N_("cannot read: {problem}"), problem=_problem(exc), path=path) from None
    finally:
        os.close(fd)
    return load(text, path)


def _problem(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _too_large(path: str) -> ConfigError:
    return ConfigError(N_("larger than {limit} KiB"), limit=MAX_BYTES // 1024, path=path)


def _too_deep(path: str, line: int | None) -> ConfigError:
    return ConfigError(N_("nested deeper than {limit} levels"), limit=MAX_DEPTH, path=path, line=line)


class _Walk:
    """Records the line of every key path, refusing duplicate keys and enforcing the limits
    on depth, aliases and expanded size before anything is constructed."""

    def __init__(self, path: str, lines: Lines):
        self.path, self.lines = path, lines
        self.nodes = 0
        self.aliases = 0
        self.seen: set[int] = set()      # nodes met before: a second meeting is an alias
        self.open: set[int] = set()      # nodes being walked: meeting one again is a cycle

    def measure(self, node: yaml.Node) -> None:
        """Refuse a document whose values, once aliases are expanded, exceed MAX_NODES, counting
        each distinct node once (an alias bomb is measured in microseconds, never walked)."""
        sizes: dict[int, int] = {}

        def size(current: yaml.Node, depth: int) -> int:
            key = id(current)
            if key in sizes:
                return sizes[key]
            if key in self.open:
                raise ConfigError(N_("an alias (*name) refers to a value that contains it"),
                                  path=self.path, line=current.start_mark.line + 1)
            if depth > MAX_DEPTH:
                raise _too_deep(self.path, current.start_mark.line + 1)
            total = 1
            if not isinstance(current, yaml.ScalarNode):
                self.open.add(key)
                children = (current.value if isinstance(current, yaml.SequenceNode)
                            else [n for pair in current.value for n in pair])
                for child in children:
                    total += size(child, depth + 1)
                    if total > MAX_NODES:
                        raise ConfigError(N_("more than {limit} values (aliases included)"),
                                          limit=MAX_NODES, path=self.path,
                                          line=current.start_mark.line + 1)
                self.open.discard(key)
            sizes[key] = total
            return total

        size(node, 1)

    def visit(self, node: yaml.Node, prefix: tuple | None, depth: int, aliased: bool = False) -> None:
        """Walk node; prefix is its key path, None inside a (complex) key, which records nothing;
        aliased: node is inside a value reached through an alias (counted once, where it starts)."""
        line = node.start_mark.line + 1
        self.nodes += 1
        if id(node) in self.seen and not aliased:
            aliased = True
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise ConfigError(N_("uses aliases (*name) more than {limit} times"),
                                  limit=MAX_ALIASES, path=self.path, line=line)
        if id(node) in self.open:
            raise ConfigError(N_("an alias (*name) refers to a value that contains it"),
                              path=self.path, line=line)
        if self.nodes > MAX_NODES:
            raise ConfigError(N_("more than {limit} values (aliases included)"), limit=MAX_NODES,
                              path=self.path, line=line)
        if depth > MAX_DEPTH:
            raise _too_deep(self.path, line)
        self.seen.add(id(node))
        if prefix is not None:
            self.lines[prefix] = line
        if isinstance(node, yaml.ScalarNode):
            return
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.tag)
                if key in keys:
                    raise ConfigError(N_("duplicate key"), path=self.path,
                                      line=key_node.start_mark.line + 1,
                                      key=".".join(map(str, (*(prefix or ()), key))))
                keys.add(key)
                if not isinstance(key_node, yaml.ScalarNode):
                    self.visit(key_node, None, depth + 1, aliased)
                here = None if prefix is None else prefix + (key,)
                self.visit(value_node, here, depth + 1, aliased)
                if here is not None:
                    self.lines[here] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.visit(item, None if prefix is None else prefix + (index,), depth + 1, aliased)
        self.open.discard(id(node))


def line_of(lines: Lines, key_path: tuple) -> int | None:
    """The line of the deepest recorded ancestor of key_path."""
    for cut in range(len(key_path), -1, -1):
        if key_path[:cut] in lines:
            return lines[key_path[:cut]]
    return None
