"""docs/exit-codes.md lists exactly the exit codes diagnose has, and the README points to it."""
from __future__ import annotations

import re

from diagnose.exit_codes import ExitCode

from ._process import REPO


def test_the_exit_code_table_is_the_enum():
    text = (REPO / "docs/exit-codes.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", text, re.M))
    assert rows == {str(code.value): code.name for code in ExitCode}


def test_every_code_the_readme_names_exists():
    readme = (REPO / "README.md").read_text()
    paragraph = readme[readme.index("Exit status:"):readme.index("docs/exit-codes.md")]
    named = {int(code) for code in re.findall(r"`(\d+)`", paragraph)}
    assert named and named <= {code.value for code in ExitCode}
