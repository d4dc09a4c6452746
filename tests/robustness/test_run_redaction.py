"""Redaction knows the dialer's account name before any check runs: a portal URL naming it is
redacted even when the pppoe check (which reads the dialer) is skipped."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from diagnose.net.ppp_secrets import dialer_accounts

from ._process import DIAGNOSE, REPO, environment

CANARY = "cnry7731x@adsl-canary"

PORTAL = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 80)); s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/auth?user=%s&from=x\r\n"
              b"Content-Length: 0\r\nConnection: close\r\n\r\n" % sys.argv[1].encode())
    c.close()
'''


def test_dialer_accounts_from_peers_and_networkmanager(tmp_path):
    peers = tmp_path / "etc/ppp/peers"
    peers.mkdir(parents=True)
    (peers / "dsl-provider").write_text('plugin rp-pppoe.so eth0\nuser "first@isp"\n')
    (peers / "template").write_text("# no user line\n")
    os.mkfifo(peers / "a-fifo")                       # must not hang the run
    nm = tmp_path / "etc/NetworkManager/system-connections"
    nm.mkdir(parents=True)
    (nm / "dsl.nmconnection").write_text(
        "[connection]\ntype=pppoe\n[pppoe]\nusername=second@isp\npassword=s3cr3t-pw\n")
    users, passwords = dialer_accounts(str(tmp_path))
    assert users == ("first@isp", "second@isp") and passwords == ("s3cr3t-pw",)


needs_netns = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip")
                                 or not Path("/etc/ppp").is_dir(),
                                 reason="needs root, iproute2 and /etc/ppp to bind over")


@pytest.fixture
def namespace():
    name = f"rr{uuid.uuid4().hex[:8]}"
    etc = Path("/etc/netns") / name
    (etc / "ppp/peers").mkdir(parents=True)
    (etc / "ppp/peers/dsl-provider").write_text(f'plugin rp-pppoe.so eth0\nuser "{CANARY}"\n')
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", PORTAL, CANARY],
                              start_new_session=True)
    try:
        give_up = time.monotonic() + 10
        while subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c",
                              "import socket; socket.create_connection(('127.0.0.1', 80), 1)"],
                             capture_output=True).returncode != 0:
            assert time.monotonic() < give_up, "the portal did not start"
            time.sleep(0.05)
        yield name
    finally:
        server.terminate()
        server.wait(10)
        subprocess.run(["ip", "netns", "del", name], check=False)
        shutil.rmtree(etc, ignore_errors=True)


@needs_netns
@pytest.mark.parametrize("skip", ["pppoe", "gateway"])   # gateway: pppoe needs it
def test_a_skipped_pppoe_check_still_hides_the_account_name(tmp_path, namespace, skip):
    profile = tmp_path / "portal.yaml"
    profile.write_text('name: portal\nprobes:\n  connectivity_urls: ["http://127.0.0.1/generate_204"]\n')
    data = tmp_path / "data"

    def diagnose(*extra):
        return subprocess.run(["ip", "netns", "exec", namespace, *DIAGNOSE, "--json", "--skip",
                               skip, "--profile", str(profile), "--timeout", "3", *extra],
                              cwd=REPO, env=environment(data), capture_output=True, text=True,
                              timeout=60)
    ran = diagnose()
    report = json.loads(ran.stdout)
    assert "Traceback" not in ran.stderr
    internet = next(c for c in report["checks"] if c["id"] == "internet")
    assert internet["facts"]["portal"] is True                     # the URL is in the report
    for where in (ran.stdout, ran.stderr, *(p.read_text() for p in data.iterdir() if p.is_file())):
        assert CANARY not in where and "cnry7731x" not in where
    assert "<pppoe-user-" in internet["facts"]["portal_location"]
    assert CANARY in diagnose("--no-redact").stdout                # the canary was really there
