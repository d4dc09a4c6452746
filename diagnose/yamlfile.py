"""Safe YAML loading that remembers where each key came from, for messages naming file and line."""
from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError
from .i18n import N_

Lines = dict[tuple, int]
# libyaml's parser when present (several times faster); both are the safe loader, with line marks.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, path: str) -> tuple[Any, Lines]:
    """Parse one YAML document with the safe loader; return the data and {key path: line}."""
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: Lines = {}
        if node is not None:
            _record_lines(node, (), lines, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(N_("not valid YAML: {problem}"), problem=exc.problem or exc.context, path=path,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(N_("not valid YAML: {problem}"), problem=str(exc), path=path) from None
    finally:
        loader.dispose()
    return data, lines


def read(path: str) -> tuple[Any, Lines]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(N_("file not found"), path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(N_("cannot read: {problem}"), problem=str(exc), path=path) from None
    return load(text, path)


def _record_lines(node: yaml.Node, prefix: tuple, lines: Lines, path: str) -> None:
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            if key in seen:
                raise ConfigError(N_("duplicate key"), path=path, line=key_node.start_mark.line + 1,
                                  key=".".join(map(str, prefix + (key,))))
            seen.add(key)
            lines[prefix + (key,)] = key_node.start_mark.line + 1
            _record_lines(value_node, prefix + (key,), lines, path)
            lines[prefix + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, prefix + (index,), lines, path)


def line_of(lines: Lines, key_path: tuple) -> int | None:
    """The line of the deepest recorded ancestor of key_path."""
    for cut in range(len(key_path), -1, -1):
        if key_path[:cut] in lines:
            return lines[key_path[:cut]]
    return None
