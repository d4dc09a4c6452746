"""Faults on the subscriber's own computer, in the lab: the facts behind the verdicts.

The verdicts themselves are in test_scenarios.py (scenarios_pc*.py); here: what the new checks
observed, and that the controls stay silent.
"""
from __future__ import annotations

import json

import pytest

from . import netlab
from .pc_faults import HOSTS_AS_DNS, HOSTS_TO_LOOPBACK, local_resolver_blocks, nsswitch_files_only

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def facts(lab, check, unprivileged=False):
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path)],
                            unprivileged=unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    result = next(c for c in report["checks"] if c["id"] == check)
    return result, report


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_hosts_file_line_is_named_with_what_dns_says(lab, unprivileged):
    HOSTS_TO_LOOPBACK[0](lab, *HOSTS_TO_LOOPBACK[1:])
    lookup, report = facts(lab, "lookup", unprivileged)
    assert lookup["facts"]["hosts_override_lines"] == [f"127.0.0.1 {netlab.CONNECT_NAME}"]
    entry = next(n for n in lookup["facts"]["names"] if n["name"] == netlab.CONNECT_NAME)
    assert entry["dns"] == [netlab.WEB_ADDR] and entry["answers"] is False
    # the network itself is fine: the direct view of DNS and HTTP says so
    internet = next(c for c in report["checks"] if c["id"] == "internet")
    assert internet["facts"]["online"] is True
    assert "127.0.0.1" in report["verdict"]["title"]


def test_hosts_line_agreeing_with_dns_is_no_finding(lab):
    HOSTS_AS_DNS[0](lab, *HOSTS_AS_DNS[1:])
    lookup, report = facts(lab, "lookup")
    assert lookup["status"] == "ok" and lookup["facts"]["hosts_override"] is False
    assert all(n["matches_dns"] for n in lookup["facts"]["names"])
    assert not [f for f in report["findings"] if f["rule"].startswith(("hosts", "system-lookup"))]


def test_nsswitch_without_dns_is_read_and_every_lookup_fails(lab):
    nsswitch_files_only(lab)
    lookup, report = facts(lab, "lookup")
    assert lookup["facts"]["nsswitch_hosts"] == ["files"]
    assert {n["outcome"] for n in lookup["facts"]["names"]} == {"not_found"}
    dns = next(c for c in report["checks"] if c["id"] == "dns")
    assert dns["facts"]["configured_works"] is True


def test_local_resolver_answer_is_compared_with_the_routers(lab):
    local_resolver_blocks(lab)
    lookup, report = facts(lab, "lookup")
    entry = next(n for n in lookup["facts"]["names"] if n["name"] == netlab.CONNECT_NAME)
    assert entry["addresses"] == ["0.0.0.0"] and entry["dns"] == [netlab.WEB_ADDR]
    assert lookup["facts"]["differing"] == [netlab.CONNECT_NAME]
    assert lookup["facts"]["hosts_override"] is False
