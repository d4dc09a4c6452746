"""Which DNS servers this machine really asks."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

STUB_RESOLVERS = {"127.0.0.53", "127.0.0.54"}  # systemd-resolved's local stubs
_RESOLVECTL_DNS = re.compile(r"^(?:Global|Link \d+ \(([^)]*)\)):\s*(.*)$")


def nameservers(text: str) -> list[str]:
    servers = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            address = parts[1].split("%", 1)[0]
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue
            if address not in servers:
                servers.append(address)
    return servers


def resolvectl_upstreams(output: str) -> list[str]:
    """Parse `resolvectl dns`: 'Global: 1.1.1.1' / 'Link 2 (eth0): 192.168.1.1 fe80::1'."""
    servers = []
    for line in output.splitlines():
        match = _RESOLVECTL_DNS.match(line.strip())
        if not match:
            continue
        for word in match.group(2).split():
            address = word.split("#", 1)[0].split("%", 1)[0]
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue
            if address not in servers:
                servers.append(address)
    return servers


def configured(ctx) -> dict[str, Any]:
    """{servers, source, stub}: the upstreams behind a systemd-resolved stub when it has one."""
    try:
        text = ctx.path("/etc/resolv.conf").read_text(errors="replace")
    except OSError as exc:
        return {"servers": [], "source": "/etc/resolv.conf", "stub": None,
                "error": f"cannot read /etc/resolv.conf: {exc.strerror}"}
    servers = nameservers(text)
    stub = next((s for s in servers if s in STUB_RESOLVERS), None)
    if stub:
        done = ctx.run(["resolvectl", "dns"], ctx.budget(1.0))
        upstream = resolvectl_upstreams(done.stdout) if done is not None and done.returncode == 0 else []
        if upstream:
            return {"servers": upstream, "source": "resolvectl", "stub": stub, "error": None}
    return {"servers": servers, "source": "/etc/resolv.conf", "stub": stub, "error": None}
