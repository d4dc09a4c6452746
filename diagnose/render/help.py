"""click's help and usage lines wrapped by display width, and click's own notation in words.

click measures text in characters, so Chinese help overflows the terminal and its columns
drift; these classes give the app a formatter that measures columns (render/screen.py)."""
from __future__ import annotations

import re
from gettext import gettext as _

import click

from .screen import pad, width, wrap


class HelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = _("Usage:") + " " if prefix is None else prefix
        first = f"{prefix:>{self.current_indent}}{prog} "
        lines = wrap(args, self.width, first) if args else [first.rstrip()]
        self.write("\n".join(lines) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(" " * self.current_indent + _("{heading}:").format(heading=heading) + "\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
        self.write("\n\n".join("\n".join(wrap(p, self.width, indent)) for p in paragraphs) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        if not rows:
            return
        term_width = min(max(width(first) for first, *_rest in rows), col_max) + col_spacing
        hanging = " " * (self.current_indent + term_width)
        for first, *rest in rows:
            second = rest[0] if rest else ""
            lead = " " * self.current_indent + first
            if not second:
                self.write(lead + "\n")
                continue
            if width(first) <= term_width - col_spacing:
                lines = wrap(second, self.width, pad(lead, len(hanging)), hanging)
            else:
                lines = [lead] + wrap(second, self.width, hanging)
            self.write("\n".join(lines) + "\n")


class Context(click.Context):
    formatter_class = HelpFormatter


class Command(click.Command):
    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", _("[OPTIONS]"))
        super().__init__(*args, **kwargs)


class Group(click.Group):
    context_class = Context
    command_class = Command
    group_class = type            # subgroups are Groups too

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", _("[OPTIONS]"))
        kwargs.setdefault("subcommand_metavar", _("COMMAND [ARGS]..."))
        super().__init__(*args, **kwargs)


def _describe(low, high) -> str:
    return _("from {low} to {high}").format(low=low, high=high)


class FloatRange(click.FloatRange):
    """A range shown in words ("from 0.5 to 300"), not as click's 0.5<=x<=300."""

    def _describe_range(self) -> str:
        return _describe(self.min, self.max)


class IntRange(click.IntRange):
    def _describe_range(self) -> str:
        return _describe(self.min, self.max)
