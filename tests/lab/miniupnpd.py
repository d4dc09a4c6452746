"""The real miniupnpd (Debian package miniupnpd-nftables) in the lab router's namespace.

Started by hand (its init script wants iptables and a system service), after making the nftables
chains it manages: plain chains without hooks, so it changes nothing in the lab's forwarding or
NAT. What it says (measured, miniupnpd 2.3.1): IGD:2 with WANIPConnection:2; `Connected` while
wan0 has an address, even without carrier (the lab's wan_down); `Disconnected` once wan0 has no
address; LastConnectionError always ERROR_NONE; an empty external address, because it refuses
the lab's WAN address 198.51.100.2 (TEST-NET) as "private/reserved", as it does RFC 1918 ones.
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from .igd_server import SSDP_PORT, LabDaemon
from .netlab import DEFAULT_PATH, LAN_PREFIX, ROUTER_LAN_ADDR, ROUTER_LAN_IF, ROUTER_WAN_IF

BINARY = "miniupnpd"
PACKAGE = "miniupnpd-nftables"
HTTP_PORT = 5000          # fixed, so readiness can be polled (its default is random)
TABLE = "lab_miniupnpd"
CHAINS = {"upnp_forward_chain": "forward_upnp", "upnp_nat_chain": "prerouting_upnp",
          "upnp_nat_postrouting_chain": "postrouting_upnp"}


def binary() -> str | None:
    return shutil.which(BINARY, path=DEFAULT_PATH)


def require() -> str:
    """The miniupnpd binary; skip (fail under CI=true, like the lab itself) when missing."""
    found = binary()
    if found is None:
        message = f"{BINARY} missing: apt-get install {PACKAGE}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the lab must not be skipped)", pytrace=False)
        pytest.skip(message)
    return found


def config_text() -> str:
    lines = [f"ext_ifname={ROUTER_WAN_IF}", f"listening_ip={ROUTER_LAN_IF}",
             f"http_port={HTTP_PORT}", "enable_natpmp=no", "enable_upnp=yes", "secure_mode=yes",
             "system_uptime=no", f"uuid={uuid.uuid4()}",
             f"upnp_table_name={TABLE}", f"upnp_nat_table_name={TABLE}",
             *(f"{key}={chain}" for key, chain in CHAINS.items()),
             f"allow 1024-65535 {ROUTER_LAN_ADDR}/{LAN_PREFIX} 1024-65535",
             "deny 0-65535 0.0.0.0/0 0-65535"]
    return "\n".join(lines) + "\n"


def start(lab) -> LabDaemon:
    """miniupnpd on the router's LAN side; stopped (terminate, wait) when the lab stops."""
    program = require()
    chains = "".join(f"chain {chain} {{ }}\n" for chain in CHAINS.values())
    lab.nft("rt", f"table inet {TABLE} {{\n{chains}}}\n")
    conf = lab.tmpdir / "miniupnpd.conf"
    conf.write_text(config_text())
    argv = [program, "-d", "-f", str(conf), "-P", str(lab.tmpdir / "miniupnpd.pid")]
    daemon = LabDaemon(lab, "rt", "rt-miniupnpd", argv).stop_with(lab)
    return daemon.wait_ready([("tcp", HTTP_PORT), ("udp", SSDP_PORT)])


def wan_address_lost(lab) -> None:
    """The router's WAN lost its address (lease or PPP session gone): miniupnpd says
    Disconnected, and traffic beyond the router stops."""
    lab.ip("rt", "addr", "flush", "dev", ROUTER_WAN_IF)


def start_disconnected(lab) -> LabDaemon:
    daemon = start(lab)
    wan_address_lost(lab)
    return daemon
