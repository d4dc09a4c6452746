"""One DNS question to one server, reported as an observation (dnspython)."""
from __future__ import annotations

import errno
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

_RCODE_OUTCOME = {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail", "REFUSED": "refused"}


def query_a(server: str, name: str, timeout: float, port: int = 53) -> dict[str, Any]:
    return query(server, name, timeout, port, "A")


def query(server: str, name: str, timeout: float, port: int = 53,
          rdtype: str = "A") -> dict[str, Any]:
    """One question of type rdtype (A or AAAA): outcome, rcode, latency and up to 8 addresses."""
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    started = time.monotonic()
    result: dict[str, Any] = {"server": server, "name": name, "outcome": "error", "rcode": None,
                              "latency_ms": None, "answers": []}
    try:
        reply = dns.query.udp(dns.message.make_query(name, rdtype), server, timeout=timeout,
                              port=port, ignore_unexpected=True)
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
    result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
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
