"""One DNS question to one server, reported as an observation (dnspython)."""
from __future__ import annotations

import errno
import socket
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from ..clock import SYSTEM, Clock

_RCODE_OUTCOME = {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail", "REFUSED": "refused"}
# Unanswered this far into its wait, the question is sent again (same id): on a lossy line one
# lost datagram must not pass for a dead resolver. A live resolver answers well before.
RESEND_FRACTION = 0.5


def query_a(server: str, name: str, timeout: float, port: int = 53,
            clock: Clock = SYSTEM) -> dict[str, Any]:
    return query(server, name, timeout, port, "A", clock)


def query(server: str, name: str, timeout: float, port: int = 53,
          rdtype: str = "A", clock: Clock = SYSTEM) -> dict[str, Any]:
    """One question of type rdtype (A or AAAA): outcome, rcode, latency and up to 8 addresses.
    The wait is on `clock` (monotonic and wait)."""
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    started = clock.monotonic()
    result: dict[str, Any] = {"server": server, "name": name, "outcome": "error", "rcode": None,
                              "latency_ms": None, "answers": []}
    try:
        reply = _ask(dns.message.make_query(name, rdtype), server, port, timeout, clock)
    except dns.exception.Timeout:
        result["outcome"] = "timeout"
        return result
    except OSError as exc:
        result["outcome"] = ("unreachable" if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
                             else "error")
        result["error"] = exc.strerror
        return result
    except dns.exception.DNSException as exc:  # malformed or hostile reply
        result["outcome"] = "bad_reply"
        result["error"] = type(exc).__name__
        return result
    result["latency_ms"] = round((clock.monotonic() - started) * 1000, 1)
    rcode = dns.rcode.to_text(reply.rcode())
    result["rcode"] = rcode
    wanted = dns.rdatatype.from_text(rdtype)
    addresses = [item.address for rrset in reply.answer if rrset.rdtype == wanted
                 for item in rrset][:8]
    result["answers"] = addresses
    if rcode == "NOERROR":
        result["outcome"] = "answer" if addresses else "nodata"
    else:
        result["outcome"] = _RCODE_OUTCOME.get(rcode, "servfail")
    return result


def _ask(query, server: str, port: int, timeout: float, clock: Clock):
    """The reply to `query` over UDP, asked once more halfway through the wait. dnspython
    builds, sends and checks; the waiting is the clock's, and dnspython never waits (its
    expiration is always past: a socket with nothing more to read ends its receive)."""
    import dns.exception
    import dns.query

    destination = (server, port)
    end = clock.monotonic() + timeout
    resend_at: float | None = clock.monotonic() + timeout * RESEND_FRACTION
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        dns.query.send_udp(sock, query, destination, time.time() + timeout)
        while True:
            now = clock.monotonic()
            if now >= end:
                raise dns.exception.Timeout
            if resend_at is not None and now >= resend_at:
                resend_at = None
                dns.query.send_udp(sock, query, destination, time.time() + timeout)
            if not clock.wait([sock], min(end, resend_at or end) - now):
                continue
            try:
                reply, _ = dns.query.receive_udp(sock, destination, expiration=time.time(),
                                                 ignore_unexpected=True, query=query)
                return reply
            except dns.exception.Timeout:   # only strangers' datagrams were there
                continue


def resolve_first(name: str, servers: list[str], timeout: float) -> dict[str, Any]:
    """Ask all servers at once; the first answer with addresses wins, else the last outcome seen."""
    if not servers:
        return {"server": None, "name": name, "outcome": "no_resolver", "answers": []}
    pool = ThreadPoolExecutor(max_workers=len(servers))
    futures = {pool.submit(query_a, server, name, timeout) for server in servers}
    last: dict[str, Any] | None = None
    try:
        while futures:
            done, futures = wait(futures, timeout=timeout + 0.5, return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                last = future.result()
                if last["outcome"] == "answer":
                    return last
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return last or {"server": None, "name": name, "outcome": "timeout", "answers": []}
