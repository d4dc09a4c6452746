"""Progress while the checks run: one line on stderr, rewritten in place, erased at the end.

Only when a person watches a terminal; the run then ends with the report alone on the screen."""
from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..i18n import STATUS_NAMES, check_name, t
from .screen import columns_of, width

_ERASE_LINE = "\r\033[K"


class Progress:
    def __init__(self, lang: str, total: int, stream: TextIO | None = None, enabled: bool = True):
        self.lang, self.total, self.done = lang, total, 0
        self.stream = sys.stderr if stream is None else stream
        self.columns = columns_of(self.stream)
        self.enabled = enabled and self.columns is not None
        self._lock = threading.Lock()

    def __call__(self, check_id: str, result) -> None:
        """A check finished (the runner's on_finish)."""
        if not self.enabled:
            return
        with self._lock:
            self.done += 1
            line = t(self.lang, "Checking ({done} of {total}): {name} {status}", done=self.done,
                     total=self.total, name=check_name(self.lang, check_id),
                     status=t(self.lang, STATUS_NAMES[result.status.value]))
            self._write(_ERASE_LINE + _fit(line, self.columns - 1))

    def close(self) -> None:
        """Erase the progress line."""
        if self.enabled and self.done:
            with self._lock:
                self._write(_ERASE_LINE)

    def _write(self, text: str) -> None:
        """A terminal that went away or cannot show the text ends the progress, not the run."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, UnicodeError, ValueError):
            self.enabled = False


def _fit(text: str, columns: int) -> str:
    """Cut to the terminal's width, so the line never wraps (a wrapped line is not erased)."""
    while text and width(text) > columns:
        text = text[:-1]
    return text
