"""Errors the CLI maps to documented exit codes (see exit_codes.py)."""
from __future__ import annotations


class ConfigError(Exception):
    """A profile or rule file that cannot be used: names the file, the line and the key."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None):
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<built-in>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" (key '{self.key}')" if self.key else ""
        return f"{where}: {self.message}{key}"
