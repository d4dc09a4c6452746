"""Fault-lab faults on the subscriber's own computer (issue 11).

Used by scenarios_pc.py (the verdicts) and test_pc_side.py (facts and controls); see there.
"""
from __future__ import annotations

from . import netlab

LOOPBACK_REDIRECT = "127.0.0.1"
LOCAL_RESOLVER = "127.0.0.1"
BLOCKED_ANSWER = "0.0.0.0"


def hosts_line(lab, address, *names):
    """A line in the PC's hosts file."""
    hosts = lab.netns_etc("pc") / "hosts"
    hosts.write_text(hosts.read_text() + f"{address}\t{' '.join(names)}\n")


def nsswitch_files_only(lab):
    """The PC's name service switch looks names up in the hosts file only (no DNS)."""
    (lab.netns_etc("pc") / "nsswitch.conf").write_text(
        "passwd: files\ngroup: files\nhosts: files\nnetworks: files\n")


def local_resolver_blocks(lab):
    """A resolver on the PC itself answers the connectivity host with 0.0.0.0 (others forwarded)."""
    argv = lab._dnsmasq_base("pc-dnsmasq", LOCAL_RESOLVER)
    argv += [f"--server={netlab.ROUTER_LAN_ADDR}", "--cache-size=0",
             f"--address=/{netlab.CONNECT_NAME}/{BLOCKED_ANSWER}"]
    lab._spawn("pc", "pc-dnsmasq", argv)
    lab._wait_tcp("pc-dnsmasq", LOCAL_RESOLVER, netlab.DNS_PORT)
    lab.set_pc_dns(LOCAL_RESOLVER)


HOSTS_TO_LOOPBACK = (hosts_line, LOOPBACK_REDIRECT, netlab.CONNECT_NAME)
HOSTS_TO_OTHER_SERVER = (hosts_line, netlab.PORTAL_ADDR, netlab.WWW_NAME)
HOSTS_AS_DNS = (hosts_line, netlab.WEB_ADDR, netlab.CONNECT_NAME, netlab.WWW_NAME)
