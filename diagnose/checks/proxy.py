"""proxy: proxies set in the environment, and whether each one accepts connections."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import reach

VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
CONNECT_WAIT_S = 1.5  # a proxy on the LAN or at the operator accepts in milliseconds
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}


def configured(env) -> list[dict]:
    """One entry per distinct proxy, naming the variables that point at it; never credentials."""
    proxies: dict[tuple, dict] = {}
    for upper in VARIABLES:
        for name in (upper, upper.lower()):
            value = (env.get(name) or "").strip()
            if not value:
                continue
            parts = urlsplit(value if "://" in value else f"http://{value}")
            try:
                port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
            except ValueError:
                port = None
            key = (parts.scheme, parts.hostname, port)
            entry = proxies.setdefault(key, {"variables": [], "scheme": parts.scheme,
                                             "host": parts.hostname, "port": port})
            entry["variables"].append(name)
    return list(proxies.values())


def run(ctx) -> CheckResult:
    proxies = configured(ctx.env)
    facts = {"proxies": proxies, "any_configured": bool(proxies), "any_refusing": False}
    if not proxies:
        return CheckResult(Status.OK, facts)
    wait = ctx.budget(CONNECT_WAIT_S)
    with ThreadPoolExecutor(max_workers=len(proxies)) as pool:
        probes = list(pool.map(lambda p: reach.tcp_connect(p["host"], p["port"], wait)
                               if p["host"] and p["port"] else {"outcome": "invalid"}, proxies))
    for proxy, probe in zip(proxies, probes):
        proxy["connect"] = probe["outcome"]
        proxy["accepts"] = probe["outcome"] == "open"
    refusing = [p for p in proxies if not p["accepts"]]
    facts["any_refusing"] = bool(refusing)
    if refusing:
        where = ", ".join(f"{p['host']}:{p['port']} ({p['connect']})" for p in refusing)
        return CheckResult(Status.PROBLEM, facts, N_("proxy does not accept connections: {proxies}"),
                           reason_args={"proxies": where})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="proxy", summary="Proxy settings and whether the proxy accepts connections",
                  run=run, timeout=2.5,
                  provides=("proxies", "any_configured", "any_refusing"),
                  name=N_("proxy"), position=140, digest_slot=6)
