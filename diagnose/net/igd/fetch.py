"""HTTP with a device on the LAN, under a hard deadline for the whole exchange.

requests' timeouts bound each read, not the exchange: a device trickling one byte at a time would
hold us for ever. Every socket opened under a Cutoff waits only until its moment
(net.deadline_http), without a watchdog thread. No proxies (the router is on the LAN), no
retries, no redirects followed here, no compressed answer unpacked, at most `limit` bytes read."""
from __future__ import annotations

import errno
import time
from typing import Any

from .. import causes
from ..deadline_http import Deadline, Monotonic, session
from .values import whole_number

MAX_DOCUMENT = 64 * 1024  # description or SOAP reply; real ones are a few KiB
HEADERS = {"Accept-Encoding": "identity", "Connection": "close",
           "User-Agent": "broadband-diagnose UPnP/1.1"}
_ERRNO_OUTCOME = {errno.ECONNREFUSED: "refused", errno.ENETUNREACH: "unreachable",
                  errno.EHOSTUNREACH: "unreachable", errno.ETIMEDOUT: "timeout"}


class Cutoff(Deadline):
    """The moment `seconds` from now by which every exchange made under it ends. A context
    manager for readability: nothing runs in the background, so there is nothing to stop."""

    def __init__(self, seconds: float, clock: Monotonic = time.monotonic):
        super().__init__(clock() + max(0.0, seconds), clock)

    def __enter__(self) -> "Cutoff":
        return self

    def __exit__(self, *exc) -> None:
        return None

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


def exchange(url: str, cutoff: Cutoff, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, limit: int = MAX_DOCUMENT) -> dict[str, Any]:
    """One GET (or POST of body) under the cutoff, never following redirects.

    outcome: ok (2xx), http_error, redirect (with location), too_large, compressed, timeout,
    refused, unreachable or error; status_code; body (bytes, at most `limit`) when read.
    """
    import requests

    result: dict[str, Any] = {"outcome": "error", "status_code": None, "body": None,
                              "location": None}
    wait = cutoff.remaining()
    if wait <= 0:
        result["outcome"] = "timeout"
        return result
    lan = session(cutoff)   # trust_env False: no environment proxies for a device on the LAN
    try:
        with lan.request("POST" if body is not None else "GET", url, data=body,
                         headers={**HEADERS, **(headers or {})}, allow_redirects=False,
                         stream=True, timeout=(wait, wait)) as reply:
            result["status_code"] = reply.status_code
            result["location"] = reply.headers.get("Location")
            length = reply.headers.get("Content-Length", "")
            if reply.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
                result["outcome"] = "compressed"   # asked for identity; a bomb is not unpacked
            elif (whole_number(length) or 0) > limit:
                result["outcome"] = "too_large"
            else:
                data = reply.raw.read(limit + 1, decode_content=False) or b""
                if len(data) > limit:
                    result["outcome"] = "too_large"
                else:
                    result["body"] = data
                    code = reply.status_code
                    result["outcome"] = ("ok" if 200 <= code < 300 else
                                         "redirect" if 300 <= code < 400 and result["location"]
                                         else "http_error")
    except requests.exceptions.Timeout:
        result["outcome"] = "timeout"
    except Exception as exc:  # requests, urllib3 and http.client all raise on a broken peer
        cause = causes.os_error(exc)
        result["outcome"] = ("timeout" if cutoff.expired else
                             _ERRNO_OUTCOME.get(cause.errno, "error") if cause else "error")
        result["error"] = type(exc).__name__
    finally:
        lan.close()
    return result
