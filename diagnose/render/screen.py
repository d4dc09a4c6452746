"""Text for a terminal: display width (a Chinese character takes two columns) and wrapping to it."""
from __future__ import annotations

import re
import shutil
from typing import TextIO

from wcwidth import wcswidth, wcwidth

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Break points: a run of spaces, a run of non-CJK characters (a word, a number, an address),
# or one wide character (each Chinese character may end a line).
_TOKENS = re.compile(r"\s+|[^\s\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f"
                     r"\uff00-\uff60\uffe0-\uffe6]+|.")
# Chinese line-breaking rules: never start a line with closing punctuation, never end one
# with opening punctuation.
_NO_LINE_START = set("，。、；：？！）》」』”’〉】…%,.;:?!)]}")
_NO_LINE_END = set("（《「『“‘〈【([{")


def width(text: str) -> int:
    """Columns the text takes on a terminal (colour codes take none)."""
    plain = _ANSI.sub("", text)
    columns = wcswidth(plain)
    return columns if columns >= 0 else sum(max(wcwidth(ch), 0) for ch in plain)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def size_of(stream: TextIO) -> tuple[int | None, int | None]:
    """(columns, rows) of the terminal when stream is one, else (None, None): files and pipes
    get no wrapping."""
    try:
        if not stream.isatty():
            return None, None
    except (AttributeError, ValueError):
        return None, None
    size = shutil.get_terminal_size()
    return size.columns, size.lines


def columns_of(stream: TextIO) -> int | None:
    return size_of(stream)[0]


def _split_long(token: str, room: int) -> list[str]:
    """A token wider than a whole line, cut into pieces that fit."""
    pieces, current = [], ""
    for ch in token:
        if current and width(current + ch) > room:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + [current] if current else pieces


def wrap(text: str, columns: int | None, first: str = "", rest: str | None = None) -> list[str]:
    """text as lines of at most `columns` display columns; the first line starts with `first`,
    the others with `rest` (default: blanks as wide as `first`, a hanging indent)."""
    rest = " " * width(first) if rest is None else rest
    if columns is None:
        return [first + text]
    lines: list[list[str]] = [[first]]
    used = width(first)
    limit = max(columns, width(rest) + 8)   # never less than a few characters of text per line
    for token in _TOKENS.findall(text):
        if token.isspace():
            if len(lines[-1]) > 1:
                lines[-1].append(" ")
                used += 1
            continue
        if used + width(token) <= limit:
            lines[-1].append(token)
            used += width(token)
            continue
        while lines[-1] and lines[-1][-1] == " ":       # no trailing blank
            lines[-1].pop()
        carried: list[str] = []
        current = lines[-1]
        if token[0] in _NO_LINE_START and len(current) > 2 and current[-1] != " ":
            carried.append(current.pop())          # bring the character before along
        while len(current) > 2 and current[-1] and current[-1][-1] in _NO_LINE_END:
            carried.insert(0, current.pop())
        room = limit - width(rest)
        pieces = _split_long(token, room) if width(token) > room else [token]
        for piece in pieces:
            lines.append([rest, *carried, piece])
            carried = []
        used = sum(width(part) for part in lines[-1])
    return ["".join(parts).rstrip() for parts in lines]


def wrap_list(items: list[str], separator: str, columns: int | None, first: str = "",
              rest: str | None = None) -> list[str]:
    """Items joined by separator, wrapped between items only (a name is never cut)."""
    rest = " " * width(first) if rest is None else rest
    if columns is None:
        return [first + separator.join(items)]
    lines = [first]
    for index, item in enumerate(items):
        piece = item + (separator if index < len(items) - 1 else "")
        if lines[-1] not in (first, rest) and width(lines[-1] + piece.rstrip()) > columns:
            lines[-1] = lines[-1].rstrip()
            lines.append(rest)
        lines[-1] += piece
    return [line.rstrip() for line in lines]
