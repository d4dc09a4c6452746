"""Which DNS servers this machine really asks."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

STUB_RESOLVERS = {"127.0.0.53", "127.0.0.54"}  # systemd-resolved's local stubs
_RESOLVECTL_DNS = re.compile(r"^(?:Global|Link \d+ \(([^)]*)\)):\s*(.*)$")


def _addresses(words) -> list[str]:
    """The distinct IP addresses among words, with any %zone or #server-name dropped."""
    servers = []
    for word in words:
        address = word.split("#", 1)[0].split("%", 1)[0]
        try:
            ipaddress.ip_address(address)
        except ValueError:
            continue
        if address not in servers:
            servers.append(address)
    return servers


def nameservers(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].split() for line in text.splitlines())
    return _addresses(parts[1] for parts in lines if len(parts) >= 2 and parts[0] == "nameserver")


def resolvectl_upstreams(output: str) -> list[str]:
    """Parse `resolvectl dns`: 'Global: 1.1.1.1' / 'Link 2 (eth0): 192.168.1.1 fe80::1'."""
    matches = (_RESOLVECTL_DNS.match(line.strip()) for line in output.splitlines())
    return _addresses(word for match in matches if match for word in match.group(2).split())


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
