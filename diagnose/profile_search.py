"""Where the operator's profile is found when --profile is not given (docs/profile.md).

The user's own file first, then the system-wide one an operator's installer drops; the first
that exists wins, and none means the built-in default."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

APP = "broadband-diagnose"
FILE_NAME = "profile.yaml"


def candidates(env: Mapping[str, str] | None = None, windows: bool | None = None) -> list[Path]:
    """The places looked at, in order."""
    env = os.environ if env is None else env
    windows = os.name == "nt" if windows is None else windows
    if windows:
        roots = [env.get("APPDATA"), env.get("PROGRAMDATA")]
        return [Path(root) / APP / FILE_NAME for root in roots if root]
    home = env.get("HOME") or str(Path.home())
    user = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    system = [d for d in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if d]
    places = [Path(user) / APP / FILE_NAME] + [Path(d) / APP / FILE_NAME for d in system]
    return places + [Path("/etc") / APP / FILE_NAME]


def find(env: Mapping[str, str] | None = None, windows: bool | None = None) -> str | None:
    """The profile file to read, or None for the built-in default."""
    return next((str(path) for path in candidates(env, windows) if path.is_file()), None)
