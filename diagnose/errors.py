"""Errors the CLI maps to documented exit codes (see exit_codes.py)."""
from __future__ import annotations

from gettext import gettext


class ConfigError(Exception):
    """A profile or rule file that cannot be used: names the file, the line and the key.

    `message` is English with {names} filled from `values`; profile and YAML messages are marked
    for translation (a subscriber can meet them), rule-pack messages are for rule authors.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None, **values):
        self.message = message.format(**values) if values else message
        self.template, self.values = message, values
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def _render(self, message: str, key_note: str) -> str:
        where = self.path or "<built-in>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {message}" + (key_note.format(key=self.key) if self.key else "")

    def __str__(self) -> str:
        return self._render(self.message, " (key '{key}')")

    def localized(self) -> str:
        """In the language gettext was activated with."""
        message = gettext(self.template)
        return self._render(message.format(**self.values) if self.values else message,
                            gettext(" (key '{key}')"))


class UsageError(Exception):
    """The command line asked for something that cannot be: exit 2. `message` marked N_()."""

    def __init__(self, message: str, **values):
        self.template, self.values = message, values
        super().__init__(message.format(**values))

    def localized(self) -> str:
        return gettext(self.template).format(**self.values)


class OutputRefused(UsageError):
    """-o names a file that cannot be written: refused before any probe (exit 73)."""


class DataDirError(Exception):
    """The data folder (history, queue, last report) cannot be used: exit 77."""

    def __init__(self, path, error: OSError):
        self.path, self.error = str(path), error
        super().__init__(f"{self.path}: {error.strerror or error}")

    def localized(self) -> str:
        return gettext("cannot use the data folder {path}: {error}").format(
            path=self.path, error=self.error.strerror or self.error)
