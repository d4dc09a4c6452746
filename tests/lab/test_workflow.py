"""The phone and ticket workflow in a real broken home: Chinese end to end, nothing identifying leaks."""
from __future__ import annotations

import json
import re

import pytest

from tests.schema import validate

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]

CANARY_MAC = "3c:52:82:ca:fe:42"
# Latin words a Chinese report may carry: data (profile, addresses, interface), acronyms, codes.
LATIN_OK = {"lab", "telecom", "pppoe", "dns", "http", "https", "url", "ip", "sudo", "diagnose",
            "wi", "fi", "json", "pc", "upnp", "mtu", "ipv", "mss", "pado", "isp", "ac", "bras"}


@pytest.mark.parametrize("breaks", [(), ("wan_down",), ("operator_dns_dead",), ("unplug_cable",),
                                    ("redirect_http_to_portal",)])
def test_chinese_locale_run_is_chinese_end_to_end(lab, breaks):
    for step in breaks:
        getattr(lab, step)()
    done = lab.run_diagnose(["--profile", str(lab.profile_path)], env={"LANG": "zh_CN.UTF-8"})
    prose = re.sub(r"https?://\S+|\[[A-Z]\d\d\]|[0-9A-Z]{4}(-[0-9A-Z]{1,4})+|\b[a-z]+\d+\b", "", done.stdout)
    words = {w.lower() for w in re.findall(r"[A-Za-z]{2,}", prose)}
    assert words <= LATIN_OK, (words - LATIN_OK, done.stdout)
    assert done.stderr == ""


def test_identifying_data_is_redacted_unless_asked(lab):
    lab.ip("pc", "link", "set", "pc0", "address", CANARY_MAC)
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path)])
    report = validate(json.loads(done.stdout))
    assert "ca:fe:42" not in done.stdout and "3c:52:82:" in done.stdout
    assert report["verdict"]["side"] == "none"
    kept = lab.run_diagnose(["--json", "--no-redact", "--profile", str(lab.profile_path)])
    assert CANARY_MAC in kept.stdout


def test_the_digest_read_out_decodes_to_the_same_verdict(lab):
    lab.wan_down()
    text = lab.run_diagnose(["--profile", str(lab.profile_path)])
    digest = re.search(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{1,4})+\b", text.stdout).group()
    decoded = lab.run_diagnose(["decode", digest])
    assert decoded.returncode == 0 and decoded.stdout.startswith("[L23] ")
