"""One POST of a queued report, under a hard deadline, and what its answer means.

The answer is classified by its status alone. The server's body is never kept or shown as it
is: a hostile or careless server may echo the token (lowercased, base64, reversed...). Only a
short reason that passes a strict filter is kept (see `reason`)."""
from __future__ import annotations

import base64
import binascii
import codecs
import http
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..net import causes
from ..net.deadline_http import Deadline
from .target import Target

log = logging.getLogger(__name__)

MAX_BODY_READ = 2048    # bytes of a refusal's body looked at for its reason
MAX_REASON = 80         # characters of a server's reason kept
MAX_WORD = 16           # longer words (a token, its base64 or hex form) drop the reason
_REASON_TEXT = re.compile(r"^[A-Za-z][A-Za-z0-9 ,.;:'()/_-]*$")
_REASON_KEYS = ("error", "message", "reason", "detail")
TOKEN_CHUNK = 5         # a reason sharing this many characters with a form of the token is dropped


@dataclass(frozen=True)
class Answer:
    """How one attempt ended: a code of results.MESSAGES, the HTTP status, a safe detail and the
    server's Retry-After (raw header text, parsed by the retry policy)."""
    code: str
    status: int | None = None
    detail: str | None = None
    retry_after: str | None = None


class Bearer:
    """requests auth: our header, and it keeps requests from falling back to ~/.netrc."""

    def __init__(self, token: str | None):
        self._token = token

    def __call__(self, request):
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "Bearer(<hidden>)"


def headers_for(report_id: str, target: Target) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Idempotency-Key": report_id, "User-Agent": f"diagnose/{__version__}"}
    if target.host_header:
        headers["Host"] = target.host_header
    return headers


def attempt(session, deadline: Deadline, body: bytes, report_id: str, target: Target,
            connect_s: float, read_s: float) -> Answer:
    """POST once; never raises for network or server trouble."""
    import requests

    remaining = max(deadline.remaining(), 0.001)
    try:
        with session.post(target.connect_url, data=body, headers=headers_for(report_id, target),
                          auth=Bearer(target.token), allow_redirects=False, stream=True,
                          timeout=(min(connect_s, remaining), min(read_s, remaining))) as reply:
            status = reply.status_code
            retry_after = reply.headers.get("Retry-After")
            detail = reason(reply, target.token) if status >= 300 else None
    except requests.exceptions.SSLError as exc:
        return Answer("tls_error", detail=exception_detail(exc))
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema, requests.exceptions.URLRequired) as exc:
        return Answer("bad_url", detail=type(exc).__name__)
    except requests.exceptions.Timeout as exc:
        return Answer("timeout", detail=exception_detail(exc))
    except (requests.exceptions.RequestException, OSError, ValueError) as exc:
        code = "timeout" if deadline.remaining() <= 0 else "unreachable"
        return Answer(code, detail=exception_detail(exc))
    return classify(status, detail, retry_after, target)


def classify(status: int, detail: str | None, retry_after: str | None, target: Target) -> Answer:
    if 200 <= status < 300:
        return Answer("delivered", status)
    if status == 409:
        return Answer("already_delivered", status)
    if status in (408, 429, 503):
        return Answer("server_busy", status, detail, retry_after)
    if 500 <= status < 600:
        return Answer("server_error", status, detail, retry_after)
    if 400 <= status < 500:
        code = "rejected_auth" if status in (401, 403) else "rejected"
        if code == "rejected_auth" and not target.token and target.token_env:
            detail = f"${target.token_env} is not set" + (f"; {detail}" if detail else "")
        return Answer(code, status, detail)
    return Answer("unexpected_response", status, detail)


def reason(reply, token: str | None) -> str:
    """`HTTP 400 Bad Request` (the phrase is ours, not the server's), then the server's own
    reason when it passes the filter: a JSON field error/message/reason/detail or a plain text
    body, at most MAX_REASON characters of words no longer than MAX_WORD, sharing nothing with
    any form of the token. A redirect's Location is never kept (it can carry anything)."""
    status = reply.status_code
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    text = f"HTTP {status}" + (f" {phrase}" if phrase else "")
    if 300 <= status < 400:
        where = redirect_origin(reply.headers.get("Location"), token)
        return f"{text}: redirect to {where}" if where else text
    try:
        raw = reply.raw.read(MAX_BODY_READ, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - the reason is a nicety; the status decides
        raw = b""
    said = server_reason(raw, token)
    return f"{text}: {said}" if said else text


def redirect_origin(location: str | None, token: str | None) -> str | None:
    """scheme://host[:port] of a redirect, nothing of its path or query (they can carry anything)."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit((location or "").strip()[:300])
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or not re.fullmatch(r"[a-z0-9.:\-\[\]]+", host):
        return None
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return None if token and _shares_token(origin, token) else origin


def server_reason(raw: bytes, token: str | None) -> str | None:
    text = raw.decode("utf-8", "replace")
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = text
    if isinstance(data, dict):
        data = next((data[key] for key in _REASON_KEYS if isinstance(data.get(key), str)), None)
    if not isinstance(data, str):
        return None
    said = " ".join(data.split())
    if (not said or len(said) > MAX_REASON or not _REASON_TEXT.match(said)
            or any(len(word) > MAX_WORD for word in said.split())
            or (token and _shares_token(said, token))):
        return None
    return said


def token_forms(token: str) -> list[str]:
    """The token as a server might echo it: as is, in other cases, reversed, rot13, and in
    hex, base32 and base64 (at each of the three alignments it can have inside a header)."""
    raw = token.encode()
    forms = [token, token[::-1], codecs.encode(token, "rot13"), binascii.hexlify(raw).decode()]
    for pad in (b"", b"x", b"xx"):
        for encoder in (base64.b64encode, base64.urlsafe_b64encode, base64.b32encode):
            encoded = encoder(pad + raw).decode().rstrip("=")
            forms.append(encoded[len(pad) * 2:-2] if len(encoded) > len(pad) * 2 + 2 else encoded)
    return [form.lower() for form in forms if form]


def _shares_token(text: str, token: str) -> bool:
    lowered = text.lower()
    for form in token_forms(token):
        size = min(TOKEN_CHUNK, len(form))
        if any(form[i:i + size] in lowered for i in range(len(form) - size + 1)):
            return True
    return False


def exception_detail(exc: BaseException) -> str:
    """The exception's kind and its root cause's kind or errno; never its text (it carries the URL)."""
    import errno
    cause = causes.os_error(exc)
    if cause is not None:
        return f"{type(exc).__name__}: {errno.errorcode.get(cause.errno, cause.errno)}"
    innermost = causes.innermost(exc)
    if innermost is exc or type(innermost) is type(exc):
        return type(exc).__name__
    return f"{type(exc).__name__}: {type(innermost).__name__}"
