"""Finds every string marked for translation in the package: N_("..."), _("..."), t(lang, "...")."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "diagnose"


def marked_strings(root: Path = PACKAGE) -> dict[str, str]:
    """msgid -> where it is first marked."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"N_": 0, "_": 0, "gettext": 0, "t": 1}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, f"{path.relative_to(root.parent)}:{node.lineno}")
    return found
