"""`diagnose facts FILE`: this machine's raw platform facts, redacted as reports are, so a
person on a real Windows PC or Mac can send them and they become test fixtures."""
from __future__ import annotations

import json
import sys
import time
from typing import Any

from . import NotObserved, for_context, plain

FORMAT = 1


def collect(ctx: Any) -> dict[str, Any]:
    backend = for_context(ctx)
    routes = backend.default_routes()
    gateway = next((r.gateway for r in routes if r.gateway and r.family == 4), None) \
        if not isinstance(routes, NotObserved) else None
    adapters = backend.adapters()
    wifi = ([a.name for a in adapters if a.kind == "wifi"]
            if not isinstance(adapters, NotObserved) else [])
    facts = {
        "adapters": adapters, "addresses": backend.addresses(), "default_routes": routes,
        "gateway_neighbour": backend.neighbour(gateway) if gateway else None,
        "dns": backend.dns(), "proxy": backend.proxy(), "privilege": backend.privilege(),
        "raw_frames_lacking": backend.raw_frames(), "wifi_links": backend.wifi_links(wifi),
        "route_paths": backend.route_paths([gateway] if gateway else []),
        "hosts_file": backend.hosts_file()[0], "local_firewall": backend.local_firewall(),
        "dialer": backend.dialer(),
    }
    dump: dict[str, Any] = {"format": FORMAT, "os": backend.os, "sys_platform": sys.platform,
                            "python": sys.version.split()[0],
                            "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "facts": plain(facts)}
    snapshot = getattr(backend, "snapshot", None)
    if callable(snapshot):   # Windows: the raw API data the facts were mapped from
        dump["raw"] = snapshot()
    return dump


def write(path: str, *, redact: bool = True) -> None:
    from ..context import Context
    from ..datadir import atomic_write
    from ..redact import redact as redacted
    ctx = Context(profile={}, privileged=False, deadline=time.monotonic() + 5)
    dump = collect(ctx)
    text = json.dumps(redacted(dump) if redact else dump, indent=2, ensure_ascii=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        from pathlib import Path
        atomic_write(Path(path), text.encode())
