"""Tokens: who may post (DIAGNOSE_SERVER_TOKENS) and who may read (DIAGNOSE_SERVER_READ_TOKENS).

Tokens are compared in constant time, as SHA-256 digests (so their lengths leak nothing either),
against every configured token without stopping at a match. The server keeps them in memory
only: never in the database, a log line, a page or a cookie.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Iterable

WRITE, READ = "write", "read"


class Tokens:
    def __init__(self, write: Iterable[str], read: Iterable[str]):
        self._known = [(hashlib.sha256(t.encode()).digest(), WRITE) for t in write] + \
                      [(hashlib.sha256(t.encode()).digest(), READ) for t in read]

    def role(self, token: str | None) -> str | None:
        """WRITE, READ, or None for an unknown token."""
        if not token:
            return None
        offered = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found = None
        for known, role in self._known:
            if hmac.compare_digest(offered, known) and found is None:
                found = role
        return found


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, else None."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
