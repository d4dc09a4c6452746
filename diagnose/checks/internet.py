"""internet: the profile's connectivity URLs over HTTP, and its ping targets by IP address; and
whether the network takes every TCP connection itself (net/intercept.py)."""
from __future__ import annotations

import errno
import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit, urlunsplit

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import causes, dnsquery, intercept, reach

RESOLVE_WAIT_S = 1.0    # as for the dns check: a live resolver answers well within it
CONNECT_WAIT_S = 1.5    # TCP handshake to a domestic endpoint; a dead route fails faster
READ_WAIT_S = 2.0       # the 204 itself is tiny
FETCH_WAIT_S = 2.0      # handshake and answer together: on a lossy line the two waits must not
                        # add up (a fault scenario's report within 3 s)
MAX_BODY = 64 * 1024    # a portal page is read this far and no further
TARGET_PORTS = (53, 443)  # public resolvers answer on these when ICMP is filtered
# How a URL fared, in words a reason can show (translated in the report's language).
OUTCOME_WORDS = {"online": N_("online"), "portal": N_("portal page"), "http_error": N_("HTTP error"),
                 "dns_failure": N_("name not resolved"), "refused": N_("refused"),
                 "unreachable": N_("unreachable"), "timeout": N_("no answer"), "error": N_("error"),
                 "bad_url": N_("unusable address")}
_ERRNO_OUTCOME = {errno.ECONNREFUSED: "refused", errno.ENETUNREACH: "unreachable",
                  errno.EHOSTUNREACH: "unreachable", errno.ETIMEDOUT: "timeout"}


def classify(status_code: int, location: str | None, body_length: int) -> str:
    if status_code == 204:
        return "online"
    if 300 <= status_code < 400 and location:
        return "portal"
    if status_code == 200 and body_length > 0:
        return "portal"   # a captive portal serving its own page in place of the 204
    return "http_error"


def _pinned_session(scheme: str, hostname: str):
    import requests
    from requests.adapters import HTTPAdapter

    class PinnedHTTPS(HTTPAdapter):
        """Connect to an address resolved by us while TLS still checks the real host name."""
        def init_poolmanager(self, *args, **kwargs):
            kwargs["server_hostname"] = hostname
            kwargs["assert_hostname"] = hostname
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.trust_env = False  # no environment proxies: the proxy check looks at those
    if scheme == "https":
        session.mount("https://", PinnedHTTPS())
    return session


def _read_body(raw, limit: int, deadline: float) -> bytes:
    """Up to limit bytes of an answer, by deadline at most: a server that trickles bytes resets
    the socket's timeout with each one, so the total wait is counted here."""
    import requests
    body = b""
    while len(body) < limit:
        if time.monotonic() >= deadline:
            raise requests.exceptions.ReadTimeout("the answer did not end in time")
        chunk = raw.read1(limit - len(body), decode_content=False)
        if not chunk:
            break
        body += chunk
    return body


def _result_by_deadline(ctx, future, url: str) -> dict:
    """A URL's result, or "timeout" when its fetch is still hanging at the check's deadline."""
    try:
        return future.result(timeout=max(0.0, ctx.remaining() - 0.05))
    except FutureTimeout:
        return {"url": url, "outcome": "timeout", "status_code": None, "location": None,
                "address": None, "ms": None}


def fetch(ctx, url: str, resolvers: list[str]) -> dict:
    import requests

    result = {"url": url, "outcome": "error", "status_code": None, "location": None,
              "address": None, "ms": None}
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:   # e.g. http://[::1/ or a port that is not a number from 0 to 65535
        host = port = None
    if not host or parts.scheme not in ("http", "https"):
        result["outcome"] = "bad_url"   # a URL we cannot use is an observation, not a crash
        return result
    try:
        ipaddress.ip_address(host)
        address = host
    except ValueError:
        answer = dnsquery.resolve_first(host, resolvers, ctx.budget(RESOLVE_WAIT_S))
        if answer["outcome"] != "answer":
            result.update(outcome="dns_failure", dns_outcome=answer["outcome"])
            return result
        address = answer["answers"][0]
    result["address"] = address
    netloc = (f"[{address}]" if ":" in address else address) + (f":{port}" if port else "")
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    from urllib3.util import Timeout

    started = time.monotonic()
    session = _pinned_session(parts.scheme, host)
    waits = Timeout(total=ctx.budget(FETCH_WAIT_S), connect=ctx.budget(CONNECT_WAIT_S),
                    read=ctx.budget(READ_WAIT_S))
    try:
        with session.get(target, headers={"Host": parts.netloc.rsplit("@", 1)[-1]},
                         allow_redirects=False, stream=True, timeout=waits) as reply:
            body = _read_body(reply.raw, MAX_BODY, started + ctx.budget(FETCH_WAIT_S))
            location = reply.headers.get("Location")
            result.update(status_code=reply.status_code, location=location[:300] if location else None,
                          outcome=classify(reply.status_code, location, len(body)))
    except requests.exceptions.Timeout:
        result["outcome"] = "timeout"
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader,
            ValueError, UnicodeError) as exc:   # urllib3 or http.client refusing the URL or Host
        result["outcome"] = "bad_url"
        result["error"] = type(exc).__name__
    except requests.exceptions.RequestException as exc:
        cause = causes.os_error(exc)
        result["outcome"] = _ERRNO_OUTCOME.get(cause.errno, "error") if cause else "error"
        result["error"] = type(exc).__name__
    finally:
        session.close()
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def run(ctx) -> CheckResult:
    probes = ctx.profile["probes"]
    resolvers = ctx.system.configured_dns()["servers"][:3]
    # Not `with`: its exit would wait for a fetch that still hangs (a trickling server).
    pool = ThreadPoolExecutor(max_workers=len(probes["connectivity_urls"]) + len(probes["ping_targets"]))
    pending = intercept.start()   # read once the fetches are done: it costs no time of its own
    try:
        urls = [pool.submit(fetch, ctx, url, resolvers) for url in probes["connectivity_urls"]]
        targets = [pool.submit(reach.host_answers, target, TARGET_PORTS, privileged=ctx.privileged,
                               run=ctx.run, timeout=ctx.budget(reach.ECHO_WAIT_S))
                   for target in probes["ping_targets"]]
        urls = [_result_by_deadline(ctx, future, url)
                for future, url in zip(urls, probes["connectivity_urls"])]
        targets = [future.result() for future in targets]
    finally:
        pool.shutdown(wait=False)
        caught = pending.finish()
    portal = next((u for u in urls if u["outcome"] == "portal"), None)
    facts = {
        "urls": urls,
        "online": any(u["outcome"] == "online" for u in urls),
        "portal": portal is not None,
        "portal_location": portal["location"] if portal else None,
        "name_resolution_failed": all(u["outcome"] == "dns_failure" for u in urls),
        "targets": targets,
        "any_target_reachable": any(t["reachable"] for t in targets),
        "intercept": caught,
    }
    if facts["online"]:
        return CheckResult(Status.OK, facts)
    return CheckResult(Status.OK, facts, N_("no connectivity URL answered 204 ({outcomes})"),
                       reason_args={"outcomes": [OUTCOME_WORDS[o] for o in sorted({u["outcome"] for u in urls})]})


CHECK = CheckSpec(id="internet", summary="HTTP connectivity and reachability beyond the home",
                  run=run, timeout=4.0, privilege="optional",
                  provides=("urls", "online", "portal", "portal_location",
                            "name_resolution_failed", "targets", "any_target_reachable",
                            "intercept"),
                  name=N_("internet"), position=110, digest_slot=5)
