"""The system's static name table (the hosts file) and the order of name sources (nsswitch).

OS-specific reading stays in these small functions, so a platform backend can take them over:
Windows keeps the same hosts format in %SystemRoot%\\System32\\drivers\\etc\\hosts and has no
nsswitch.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

HOSTS_FILE = "/etc/hosts"
NSSWITCH_FILE = "/etc/nsswitch.conf"
MAX_HOSTS_BYTES = 4 * 1024 * 1024   # ad-blocking hosts files reach a few MB; beyond that, stop


def parse_hosts(text: str, names: set[str]) -> dict[str, list[str]]:
    """{name: [addresses]} for the wanted names (case-insensitive), in file order."""
    wanted = {name.lower().rstrip(".") for name in names}
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0].split("%", 1)[0]))
        except ValueError:
            continue
        for alias in fields[1:]:
            alias = alias.lower().rstrip(".")
            if alias in wanted and address not in found.setdefault(alias, []):
                found[alias].append(address)
    return found


def hosts_entries(ctx, names: set[str], location: tuple[str, Path] | None = None) -> dict[str, Any]:
    """{readable, path, entries: {name: [addresses]}, error}; unreadable is not 'no entries'.
    location: the file as shown and where to read it (the platform's hosts_file()); /etc/hosts
    under ctx's root by default."""
    shown, path = location or (HOSTS_FILE, ctx.path(HOSTS_FILE))
    try:
        with open(path, "rb") as file:
            text = file.read(MAX_HOSTS_BYTES).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return {"readable": True, "path": shown, "entries": {}, "error": None}
    except OSError as exc:
        return {"readable": False, "path": shown, "entries": {}, "error": exc.strerror}
    return {"readable": True, "path": shown, "entries": parse_hosts(text, names),
            "error": None}


def parse_nsswitch_hosts(text: str) -> list[str] | None:
    """The sources of the 'hosts:' line, actions like [NOTFOUND=return] dropped; None if absent."""
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] == "hosts:":
            return [word for word in fields[1:] if not word.startswith("[")]
    return None


def nsswitch_hosts(ctx) -> dict[str, Any]:
    """{sources, error}: sources None when the file or its hosts line is missing (glibc then uses
    'dns files'), or when it cannot be read (error says why)."""
    try:
        text = ctx.path(NSSWITCH_FILE).read_text(errors="replace")
    except FileNotFoundError:
        return {"sources": None, "error": None}
    except OSError as exc:
        return {"sources": None, "error": exc.strerror}
    return {"sources": parse_nsswitch_hosts(text), "error": None}
