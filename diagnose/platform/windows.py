"""Windows: the locale-independent Win32 APIs through ctypes, never the console tools' output.

(`ipconfig`, `netsh`, `route`, `arp` and `ping` print localized text in the OEM code page.)
"""
from __future__ import annotations

import sys

from . import Backend, Privilege, ProxyConfig, Observed, environment_proxies


class WindowsBackend(Backend):
    os = "windows"

    def privilege(self) -> Privilege:
        if sys.platform == "win32":  # an elevated administrator token
            import ctypes
            try:
                return Privilege(bool(ctypes.windll.shell32.IsUserAnAdmin()), "IsUserAnAdmin")
            except (AttributeError, OSError):
                pass
        return Privilege(False, "IsUserAnAdmin")

    def proxy(self) -> Observed[ProxyConfig]:
        return ProxyConfig(proxies=tuple(environment_proxies(self.ctx.env)))
