"""The real `diagnose submit` into a running diagnose-server, on SQLite and on PostgreSQL; a
server killed mid-request loses no report it acknowledged."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest
import requests

from diagnose.exit_codes import ExitCode

from . import reports
from .conftest import READ_TOKEN, WRITE_TOKEN
from .processes import DIAGNOSE, Server, free_port

pytestmark = pytest.mark.timeout(300)
TOKENS = {"DIAGNOSE_SERVER_TOKENS": WRITE_TOKEN, "DIAGNOSE_SERVER_READ_TOKENS": READ_TOKEN}


def subscriber(tmp_path, url: str, name: str):
    """A subscriber's machine: its data folder, a profile pointing at the server, and a runner."""
    home = tmp_path / name
    home.mkdir()
    profile = home / "profile.yaml"
    profile.write_text(f"name: test-operator\nticket:\n  url: {url}/v1/reports\n"
                       "  token_env: TEST_TICKET_TOKEN\n")
    env = {"PATH": "/usr/bin:/bin", "DIAGNOSE_DATA_DIR": str(home / "data"),
           "TEST_TICKET_TOKEN": WRITE_TOKEN, "LANG": "C.UTF-8"}

    def diagnose(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([DIAGNOSE, "--profile", str(profile), *args], env=env,
                              capture_output=True, text=True, timeout=120)
    return home, diagnose


def read(server: Server, path: str, **params):
    answer = requests.get(server.url + path, params=params, timeout=10,
                          headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_submit_and_submit_pending_after_an_outage(db_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workers = 2 if db_url.startswith("postgresql") else 1   # processes sharing the database
    installation = str(uuid.uuid4())
    sent = []
    for number, name in enumerate(("alice", "bob", "carol")):
        home, diagnose = subscriber(tmp_path, url, name)
        report = reports.make("line", ac="BRAS-E2E", installation=str(uuid.uuid4()))
        (home / "report.json").write_text(json.dumps(report))
        queued = diagnose("submit", str(home / "report.json"))   # the server is down
        assert queued.returncode == ExitCode.QUEUED, queued.stderr
        sent.append((report, diagnose))

    server = Server(db_url, TOKENS, tmp_path, port=port, workers=workers, access_log=True)
    try:
        for report, diagnose in sent:
            delivered = diagnose("submit", "--pending")
            assert delivered.returncode == 0, delivered.stdout + delivered.stderr
            stored = read(server, f"/v1/reports/{report['id']}")
            assert stored["report"] == report
        # a resend of a delivered report is "already stored", and the client counts it delivered
        home, diagnose = subscriber(tmp_path, url, "dave")
        (home / "report.json").write_text(json.dumps(sent[0][0]))
        assert diagnose("submit", str(home / "report.json")).returncode == 0
        outages = read(server, "/v1/outages")
        assert [(o["locator"], o["subscribers"], o["closed_at"]) for o in outages] == \
            [("ac:BRAS-E2E", 3, None)]
        board = requests.get(f"{server.url}/outages", params={"lang": "en"}, timeout=10,
                             headers={"Authorization": f"Bearer {READ_TOKEN}"}).text
        assert "ac:BRAS-E2E" in board and "Open outages" in board
        hotline = requests.get(f"{server.url}/", params={"q": sent[2][0]["digest"]}, timeout=10,
                               headers={"Authorization": f"Bearer {READ_TOKEN}"}).text
        assert f"/reports/{sent[2][0]['id']}" in hotline
        # a healthy report from the same access concentrator closes it
        home, diagnose = subscriber(tmp_path, url, "erin")
        (home / "report.json").write_text(json.dumps(reports.make("none", ac="BRAS-E2E",
                                                                  installation=installation)))
        assert diagnose("submit", str(home / "report.json")).returncode == 0
        assert read(server, "/v1/outages")[0]["closed_at"] is not None
        # the hotline finds a report by the digest read out on the phone
        found = read(server, "/v1/reports", digest=sent[1][0]["digest"].lower())
        assert sent[1][0]["id"] in [r["id"] for r in found["reports"]]
    finally:
        server.stop()
    log = (tmp_path / f"server-{port}.log").read_bytes()
    assert b'"POST /v1/reports HTTP/1.1" 201' in log   # every request logged, no token
    assert WRITE_TOKEN.encode() not in log and READ_TOKEN.encode() not in log


def test_a_killed_server_loses_no_acknowledged_report(db_url, tmp_path):
    server = Server(db_url, TOKENS, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            report = reports.make("line", installation=str(uuid.uuid4()), ac="BRAS-KILL")
            try:
                answer = session.post(f"{server.url}/v1/reports", data=json.dumps(report),
                                      timeout=10, headers={"Authorization": f"Bearer {WRITE_TOKEN}",
                                                           "Content-Type": "application/json"})
            except requests.RequestException:
                return
            if answer.status_code == 201:
                acknowledged.append(report["id"])
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) >= 20
    server = Server(db_url, TOKENS, tmp_path)
    try:
        for report_id in acknowledged:
            answer = requests.get(f"{server.url}/v1/reports/{report_id}", timeout=10,
                                  headers={"Authorization": f"Bearer {READ_TOKEN}"})
            assert answer.status_code == 200, report_id
        outage = read(server, "/v1/outages")
        assert outage[0]["subscribers"] >= len(acknowledged)
    finally:
        server.stop()


def test_a_slow_or_broken_client_gets_a_4xx_and_the_server_keeps_serving(tmp_path):
    import socket
    server = Server(f"sqlite:///{tmp_path / 'server.sqlite3'}",
                    TOKENS | {"DIAGNOSE_SERVER_BODY_TIMEOUT_S": "1"}, tmp_path)
    try:
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        slow.sendall(f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WRITE_TOKEN}"
                     "\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"id\"".encode())
        assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200   # still serving
        answer = b""
        while b"too_slow" not in answer:   # headers and body may come in separate segments
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"too_slow" in answer, answer
        slow.close()
        cut = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        cut.sendall(f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WRITE_TOKEN}"
                    "\r\nContent-Length: 5000\r\n\r\n{\"id\"".encode())
        cut.close()   # gone mid-body: nothing stored, nothing breaks
        report = reports.make("line")
        answer = requests.post(f"{server.url}/v1/reports", data=json.dumps(report), timeout=10,
                               headers={"Authorization": f"Bearer {WRITE_TOKEN}",
                                        "Content-Type": "application/json"})
        assert answer.status_code == 201
        assert [r["id"] for r in read(server, "/v1/reports")["reports"]] == [report["id"]]
    finally:
        server.stop()
