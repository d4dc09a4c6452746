"""wifi: signal and link quality of the Wi-Fi adapters (the platform's Wi-Fi link facts)."""
from __future__ import annotations

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..platform import NotObserved, WifiLink


def _observe(adapter: dict, link: WifiLink | None, primary: str | None) -> dict:
    link = link or WifiLink(adapter=adapter["name"], connected=None)
    return {
        "name": adapter["name"],
        "primary": adapter["name"] == primary,
        "connected": link.connected if link.connected is not None else adapter.get("carrier"),
        "signal_dbm": link.signal_dbm,
        "link_quality": link.link_quality,
        "link_quality_pct": link.link_quality_pct,
        "noise_dbm": link.noise_dbm,
        "tx_bitrate_mbps": link.tx_bitrate_mbps,
        "rx_bitrate_mbps": link.rx_bitrate_mbps,
        "freq_mhz": link.freq_mhz,
        "sources": list(link.sources),
    }


def run(ctx) -> CheckResult:
    interfaces = ctx.facts("interfaces")
    facts = {"wifi_adapters": None, "adapters": [], "primary": None, "primary_is_wifi": None,
             "connected": None, "signal_dbm": None, "link_quality_pct": None,
             "tx_bitrate_mbps": None}
    if "interfaces" not in interfaces:
        return CheckResult(Status.SKIPPED, facts, N_("no adapter to look at"))
    wifi = [a for a in interfaces["interfaces"] if a.get("kind") == "wifi"]
    primary = interfaces.get("primary")
    primary_is_wifi = interfaces.get("primary_kind") == "wifi" if primary else False
    facts.update(wifi_adapters=len(wifi), primary_is_wifi=primary_is_wifi,
                 primary=primary if primary_is_wifi else None)
    if not wifi:
        return CheckResult(Status.SKIPPED, facts, N_("no Wi-Fi adapter"))
    links = ctx.system.wifi_links([adapter["name"] for adapter in wifi])
    if isinstance(links, NotObserved):
        links = {}
    observed = [_observe(adapter, links.get(adapter["name"]), primary) for adapter in wifi]
    facts["adapters"] = observed
    main = next((a for a in observed if a["primary"]), None)
    if main is not None:
        facts.update({key: main[key] for key in ("connected", "signal_dbm", "link_quality_pct",
                                                  "tx_bitrate_mbps")})
    if not any(a["sources"] for a in observed) and not any(a["connected"] is False for a in observed):
        return CheckResult(Status.SKIPPED, facts, N_("cannot read the Wi-Fi signal"))
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="wifi", summary="Wi-Fi: signal strength and link quality", run=run,
                  needs=("interfaces",), timeout=1.5,
                  provides=("wifi_adapters", "adapters", "primary", "primary_is_wifi",
                            "connected", "signal_dbm", "link_quality_pct", "tx_bitrate_mbps"),
                  name=N_("Wi-Fi"), position=20, digest_slot=10)
