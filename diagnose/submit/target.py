"""Where a report may be sent: the profile's ticket address, checked before any traffic.

HTTPS with certificate verification; plain http only to this computer, which means a literal
loopback address (127.0.0.0/8, ::1, also IPv4-mapped) or exactly the name ``localhost``, which is
never looked up: it is 127.0.0.1. ``localhost.`` (with a trailing dot), ``localhost.example`` or
any other name goes through DNS, whose answer could be spoofed, and never gets the token over
plain http. A URL with user:password is refused (credentials belong in token_env); so is a token
with characters a header cannot carry, without naming its value."""
from __future__ import annotations

import ipaddress
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

LOCALHOST = "localhost"
LOCALHOST_ADDRESS = "127.0.0.1"   # what the name localhost means here: not asked of any resolver


class Target:
    """Where to POST; the token is kept out of repr().

    url: what the profile says; connect_url: the same with the name localhost replaced by its
    address (host_header then carries the name, and TLS checks the certificate against it)."""

    __slots__ = ("url", "host", "loopback", "token", "token_env", "connect_url", "host_header")

    def __init__(self, url: str, host: str, loopback: bool, token: str | None,
                 token_env: str | None, connect_url: str | None = None,
                 host_header: str | None = None):
        self.url, self.host, self.loopback = url, host, loopback
        self.token, self.token_env = token, token_env
        self.connect_url, self.host_header = connect_url or url, host_header

    def __repr__(self) -> str:
        token = "set" if self.token else "none"
        return f"Target(host={self.host!r}, loopback={self.loopback}, token={token})"


def is_loopback(host: str) -> bool:
    """A literal loopback address (127.0.0.0/8, ::1, also IPv4-mapped) or exactly `localhost`."""
    if host.lower() == LOCALHOST:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def target(profile: Mapping[str, Any], env: Mapping[str, str]) -> Target | tuple[str, str | None]:
    """The POST target, or (error code, detail)."""
    ticket = (profile or {}).get("ticket") or {}
    url = (ticket.get("url") or "").strip() if isinstance(ticket, Mapping) else ""
    if not url:
        return "no_ticket_url", "profile key ticket.url"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "bad_url", "cannot parse the address"
    if scheme not in ("http", "https") or not host:
        return "bad_url", "expected https://HOST/..."
    if parts.username is not None or parts.password is not None:
        return "bad_url", "no user name or password in the address: use ticket.token_env"
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        return "insecure_url", f"plain http:// only to this computer, not to {host}"
    token_env = ticket.get("token_env") or None
    token = (env.get(token_env) or "").strip() if token_env else ""
    if token and not all(0x21 <= ord(char) <= 0x7E for char in token):
        return "bad_token", f"${token_env}"
    connect_url = host_header = None
    if host.lower() == LOCALHOST:
        netloc = LOCALHOST_ADDRESS + (f":{port}" if port else "")
        connect_url = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
        host_header = parts.netloc
    return Target(url, host, loopback, token or None, token_env, connect_url, host_header)
