"""What a check may use to observe the machine. Tests replace the file root and the probes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .model import CheckResult, Status


def has_raw_socket_privilege(root: Path = Path("/")) -> bool:
    """Administrator rights as far as this tool cares: may it open raw sockets? The OS is asked."""
    from .platform import for_context
    return for_context(Context(profile={}, privileged=False, deadline=time.monotonic() + 1,
                               root=root)).privilege().admin


# System tools answer in English, whatever language the report is in, so they can be parsed.
_C_LOCALE = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}


def run_command(argv: list[str], timeout: float) -> subprocess.CompletedProcess | None:
    """Run a system tool; None when it is missing or does not finish in time."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=max(timeout, 0.05),
                              stdin=subprocess.DEVNULL, errors="replace", env=_C_LOCALE)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _driver(name: str) -> str | None:
    if sys.platform != "linux":
        return None
    from .net import ethtool
    return ethtool.driver(name)


def _if_addrs() -> dict[str, list[Any]]:
    import psutil
    return psutil.net_if_addrs()


@dataclass
class Context:
    profile: dict[str, Any]
    privileged: bool
    deadline: float                      # time.monotonic() by which this check must return
    results: Mapping[str, CheckResult] = field(default_factory=dict)  # the needed checks' results
    options: Mapping[str, Any] = field(default_factory=dict)  # opt-in probes asked for on the CLI
    root: Path = Path("/")               # where /sys, /proc and /etc are read from
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run: Callable[[list[str], float], subprocess.CompletedProcess | None] = run_command
    if_addrs: Callable[[], dict[str, list[Any]]] = _if_addrs
    driver: Callable[[str], str | None] = _driver        # an adapter's kernel driver
    backend: Any = None  # the platform backend (diagnose.platform); None: this OS's, through this

    @property
    def system(self):
        """The platform backend: the raw facts of this OS, read through this context."""
        if self.backend is None:
            from .platform import for_context
            self.backend = for_context(self)
        return self.backend

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def budget(self, wanted: float) -> float:
        """A sub-timeout that never outlives this check's deadline."""
        return max(0.05, min(wanted, self.remaining() - 0.05))

    def facts(self, check_id: str) -> dict[str, Any]:
        result = self.results.get(check_id)
        return result.facts if result is not None else {}

    def status(self, check_id: str) -> Status | None:
        result = self.results.get(check_id)
        return result.status if result is not None else None
