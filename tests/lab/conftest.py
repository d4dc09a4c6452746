"""Fixtures for the fault lab: a fresh home network per test.

Every test in tests/lab gets the `lab` marker and, unless it sets its own, a
timeout. Without root or the lab's tools the lab fixtures skip, naming what is
missing; with CI=true they fail instead (the lab must never silently skip in CI).
"""
import os
import shutil
from pathlib import Path

import pytest

from .netlab import Lab

LAB_DIR = Path(__file__).resolve().parent
LAB_TEST_TIMEOUT = 60  # seconds; packet code can hang
REQUIRED_BINARIES = ("ip", "nft", "dnsmasq", "pppoe-server", "setpriv", "unshare", "sysctl")
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if LAB_DIR not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.lab)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(LAB_TEST_TIMEOUT))


def missing_requirements():
    """Human-readable reasons the lab cannot run here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root (network namespaces need root)")
    search = os.environ.get("PATH", "") + ":" + SBIN_PATH
    missing = [b for b in REQUIRED_BINARIES if shutil.which(b, path=search) is None]
    if missing:
        reasons.append("missing binaries: " + ", ".join(missing))
    return reasons


def require_lab():
    reasons = missing_requirements()
    if not reasons:
        return
    message = "fault lab unavailable: " + "; ".join(reasons)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the lab must not be skipped)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def lab_factory():
    """make_lab() -> a started Lab; every lab made is stopped after the test."""
    require_lab()
    labs = []

    def make_lab(start=True):
        lab = Lab()
        labs.append(lab)
        return lab.start() if start else lab

    yield make_lab
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab(lab_factory):
    """Standard home: PC -> router (NAT, DHCP, DNS proxy) -> ISP."""
    return lab_factory()


@pytest.fixture
def pppoe_lab(lab_factory):
    """The PC dials PPPoE itself through a bridged modem; an AC answers PADI."""
    lab = lab_factory()
    lab.make_pc_pppoe_dialer(access_concentrator=True)
    return lab
