"""proxy: proxies set in the environment or the system settings; does each accept connections?"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import reach
from ..platform import NotObserved

CONNECT_WAIT_S = 1.5  # a proxy on the LAN or at the operator accepts in milliseconds


def configured(settings) -> list[dict]:
    """One entry per distinct proxy, naming where it is set (variables, system settings)."""
    proxies: dict[tuple, dict] = {}
    for setting in settings:
        key = (setting.scheme, setting.host, setting.port)
        entry = proxies.setdefault(key, {"variables": [], "scheme": setting.scheme,
                                         "host": setting.host, "port": setting.port})
        entry["variables"].append(setting.source)
    return list(proxies.values())


def run(ctx) -> CheckResult:
    config = ctx.system.proxy()
    proxies = configured(() if isinstance(config, NotObserved) else config.proxies)
    facts = {"proxies": proxies, "any_configured": bool(proxies), "any_refusing": False,
             "auto_config_url": None if isinstance(config, NotObserved) else config.auto_config_url,
             "not_observed": config.reason if isinstance(config, NotObserved) else None}
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
        return CheckResult(Status.OK, facts, N_("proxy does not accept connections: {proxies}"),
                           reason_args={"proxies": where})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="proxy", summary="Proxy settings and whether the proxy accepts connections",
                  run=run, timeout=2.5,
                  provides=("proxies", "any_configured", "any_refusing", "auto_config_url",
                            "not_observed"),
                  name=N_("proxy"), position=140, digest_slot=6)
