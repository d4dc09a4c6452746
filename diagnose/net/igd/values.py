"""Values a device hands out, as they may enter a report: bounded text, protocol words, numbers
written in ASCII digits, addresses classified, URLs that stay on the device."""
from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT = 80            # device-supplied text kept in the facts
_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Device text as it may enter a report: printable, stripped, bounded; None when empty."""
    if not isinstance(value, str):
        return None
    text = UNPRINTABLE.sub("", value).strip()[:limit]
    return text or None


def token(value: Any) -> str | None:
    """A protocol word (Connected, ERROR_NO_CARRIER, Up, ...) or None: nothing else passes."""
    text = value.strip() if isinstance(value, str) else ""
    return text if _TOKEN.match(text) else None



def same_device_url(url: str, address: str) -> str | None:
    """url when it is plain http to the device's own address (an IPv4 literal), else None."""
    if not isinstance(url, str) or len(url) > 512 or UNPRINTABLE.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname != address or parts.username or port == 0:
        return None
    return url


# -------------------------------------------------------------------------------- values
SHARED = ipaddress.ip_network("100.64.0.0/10")        # RFC 6598: carrier-grade NAT
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def address_kind(text: Any) -> tuple[str | None, str | None]:
    """(IPv4 address, kind): public, private (RFC 1918), shared (100.64/10) or reserved;
    (None, None) for an empty or invalid answer."""
    try:
        address = ipaddress.IPv4Address((text or "").strip())
    except ValueError:
        return None, None
    if address in SHARED:
        return str(address), "shared"
    if any(address in network for network in PRIVATE):
        return str(address), "private"
    return str(address), "public" if address.is_global else "reserved"


MAX_DIGITS = 20   # 2**64 has 20 digits; a device's number is never longer


def whole_number(text: Any) -> int | None:
    """A non-negative whole number written in ASCII digits (at most MAX_DIGITS), else None.

    Strict on purpose: str.isdigit() also accepts Arabic-Indic, full-width and superscript
    digits, and int() refuses some of those and any number of more than 4300 digits."""
    value = text.strip(" \t\r\n") if isinstance(text, str) else ""
    if not 0 < len(value) <= MAX_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def malformed_number(text: Any) -> bool:
    """The device gave something in place of a number, but not a number (see whole_number)."""
    return isinstance(text, str) and bool(text.strip()) and whole_number(text) is None

