"""Check results for rule tests: a healthy home, changed per case with deep overrides."""
from __future__ import annotations

import copy

from diagnose.model import CheckResult, Status

HEALTHY = {
    "route": {"has_default": True, "gateway": "192.168.1.1", "device": "eth0",
              "default_routes": [], "has_ipv6_default": False},
    "interfaces": {"interfaces": [], "physical_count": 1, "primary": "eth0",
                   "primary_kind": "ethernet", "primary_admin_up": True, "primary_carrier": True,
                   "primary_mac": "02:00:00:00:00:01"},
    "addressing": {"interface": "eth0", "ipv4": [{"address": "192.168.1.10", "prefixlen": 24}],
                   "ipv6": [], "has_ipv4": True, "apipa": False, "has_ipv6_global": False,
                   "dhcp_probe": {"outcome": "not_run"}},
    "gateway": {"address": "192.168.1.1", "answers_ping": True, "answers_tcp": True,
                "reachable": True, "neighbour": {"state": "resolved"}, "dns_port": "open",
                "other_gateways": [], "other_gateways_answering": [], "other_answers": None},
    "dns": {"configured": ["192.168.1.1"], "configured_count": 1, "configured_local": False,
            "configured_error": None,
            "gateway": "192.168.1.1", "gateway_is_configured": True,
            "public": ["223.5.5.5"], "queries": [], "configured_works": True,
            "gateway_works": True, "public_works": True, "operator": [], "operator_works": None,
            "gateway_outcome": "answer",
            "all_nxdomain": False,
            "slowest_ms": 12.0},
    "internet": {"urls": [], "online": True, "portal": False, "portal_location": None,
                 "name_resolution_failed": False, "targets": [], "any_target_reachable": True},
    "proxy": {"proxies": [], "any_configured": False, "any_refusing": False},
    "pppoe": {"is_dialer": False, "peers": [], "networkmanager": [], "ppp_interfaces": [],
              "processes": [], "session_up": False, "discovery": {"outcome": "not_run"},
              "access_concentrator": None},
    "router": {"found": False, "address": None, "is_gateway": None, "gateway_ssdp": "closed",
               "devices": [], "ignored": [],
               "location": None, "description": None, "connections": [], "service": None,
               "connection_status": None, "connected": None, "last_connection_error": None,
               "uptime_s": None, "external_ip": None, "external_ip_kind": None,
               "physical_link_status": None, "link": None},
    "line_quality": {"gateway": {"address": "192.168.1.1", "method": "icmp", "sent": 20,
                                 "received": 20, "loss_pct": 0.0, "avg_rtt_ms": 0.8,
                                 "jitter_ms": 0.1},
                     "targets": [],
                     "beyond": {"targets": 1, "answering": 1, "loss_pct": 0.0, "avg_rtt_ms": 12.0,
                                "sent": 20, "received": 20, "added_loss_pct": 0.0,
                                "added_rtt_ms": 11.2}},
    "wifi": {"wifi_adapters": 0, "adapters": [], "primary": None, "primary_is_wifi": False,
             "connected": None, "signal_dbm": None, "link_quality_pct": None,
             "tx_bitrate_mbps": None},
    "path_mtu": {"target": "223.5.5.5", "method": "icmp-raw", "sizes": [], "probes": [],
                 "largest_answered": 1500, "smallest_answered": 576, "silent_sizes": [],
                 "silent_above": False, "frag_needed_mtu": None, "loss_seen": False},
    "dns_hijack": {"name": "nx0123456789ab.baidu.com", "configured": ["192.168.1.1"],
                   "public": ["223.5.5.5"], "queries": [], "configured_rewrites": False,
                   "reference_nxdomain": True, "rewriting": [], "rewritten_to": []},
    "ipv6": {"interface": "eth0", "addresses": [], "has_global_unicast": False,
             "has_default": False, "lookups": [], "targets": [], "connects": [],
             "any_answered": None},
    "lookup": {"names": [], "hosts_file": {"path": "/etc/hosts", "readable": True, "error": None},
               "nsswitch_hosts": ["files", "dns"], "nsswitch_error": None, "resolves": True,
               "all_fail": False, "definitive": False, "differs": False, "differing": [], "differing_addresses": [],
               "differs_unreachable": False, "hosts_override": False, "hosts_override_names": [],
               "hosts_override_lines": []},
    "firewall": {"sends": [], "blocked": False, "blocked_to": [], "blocks_gateway": False,
                 "all_blocked": False, "ruleset": {"outcome": "read", "tables": [],
                                                   "output_chains": [], "output_drops": False,
                                                   "output_drops_tcp": False,
                                                   "dropped_tcp_ports": []},
                 "ruleset_drops": False, "tcp_sends": [], "tcp_blocked": False,
                 "tcp_blocked_to": [], "stopped": [], "ruleset_drops_tcp": False,
                 "ruleset_tcp_ports": []},
    "paths": {"targets": ["192.168.1.1", "223.5.5.5"], "split_default": False, "ip_tool": "ok",
              "paths": [], "unrouted": [], "tunnel_devices": [], "beyond_devices": ["eth0"],
              "beyond_via_tunnel": False, "beyond_off_default": False, "policy_rules": [],
              "default_route_count": 1, "default_via_tunnel": False},
    "ip_settings": {"interface": "eth0", "address": "192.168.1.10", "prefixlen": 24,
                    "network": "192.168.1.0/24", "gateway": "192.168.1.1",
                    "gateway_in_subnet": True, "dns_outside_subnet": [], "origin": "dhcp",
                    "valid_lft": 86000, "gateway_arp": "resolved",
                    "dhcp_probe": {"outcome": "not_run"}, "offer_server": None, "offered": None,
                    "offer_outside_subnet": None, "router_elsewhere": None},
}


def _merge(base: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def results(changes: dict | None = None, statuses: dict | None = None) -> dict[str, CheckResult]:
    """Healthy facts with `changes` merged in; `statuses` sets a check's status (facts kept)."""
    facts = copy.deepcopy(HEALTHY)
    _merge(facts, changes or {})
    statuses = statuses or {}
    return {check: CheckResult(Status(statuses.get(check, "ok")), value)
            for check, value in facts.items()}
