"""macOS (preview, not yet tried on a real Mac): psutil and the system's configuration tools."""
from __future__ import annotations

import os
import sys

from . import Backend, Observed, Privilege, ProxyConfig, environment_proxies


class MacBackend(Backend):
    os = "macos"

    def privilege(self) -> Privilege:
        if sys.platform == "win32":   # never: this backend runs on a Mac (its tests on Linux)
            return Privilege(False, "geteuid")
        return Privilege(os.geteuid() == 0, "geteuid")

    def proxy(self) -> Observed[ProxyConfig]:
        return ProxyConfig(proxies=tuple(environment_proxies(self.ctx.env)))
