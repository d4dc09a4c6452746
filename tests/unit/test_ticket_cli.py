"""The ticket workflow from the command line, against a real HTTP server on loopback."""
from __future__ import annotations

import functools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from diagnose import submit as tickets

from .test_cli import run  # noqa: F401  (the fixture)
from .test_submit import SkipClock


class Tickets(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Idempotency-Key"]
        seen = any(k == key for k, _ in Tickets.received)
        Tickets.received.append((key, json.loads(body)))
        self.send_response(409 if seen else 201)
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def profile(tmp_path):
    port = free_port()
    path = tmp_path / "profile.yaml"
    path.write_text(f"ticket: {{url: 'http://127.0.0.1:{port}/tickets', token_env: LAB_TOKEN}}\n")
    return str(path), port


def test_offline_submit_queues_and_pending_delivers_exactly_once(run, profile, monkeypatch):
    path, port = profile
    monkeypatch.setenv("LAB_TOKEN", "CANARY-TOKEN-5e1")
    # The pauses between attempts at the closed port pass on a skipped clock, not for real.
    monkeypatch.setattr(tickets, "submit", functools.partial(tickets.submit, clock=SkipClock()))
    code, out, _ = run(["--json"])
    report_id = json.loads(out)["id"]
    code, out, err = run(["--profile", path, "submit"])          # the server is not up yet
    assert code == 75 and report_id in out and "CANARY-TOKEN" not in out + err
    Tickets.received = []
    server = ThreadingHTTPServer(("127.0.0.1", port), Tickets)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        code, out, _ = run(["--profile", path, "submit", "--pending"])
        assert code == 0 and "delivered" in out
        code, out, _ = run(["--profile", path, "submit", "--pending"])
        assert code == 0 and "Nothing is waiting" in out
    finally:
        server.shutdown()
        server.server_close()
    assert [key for key, _ in Tickets.received] == [report_id]
    assert Tickets.received[0][1]["id"] == report_id


def test_submit_without_ticket_url_keeps_the_report(run):
    run(["--json"])
    code, out, _ = run(["submit"])
    assert code == 78 and "no ticket address" in out


def test_submit_of_something_that_is_no_report(run, tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    code, out, err = run(["submit", str(junk)])
    assert code == 2 and "not a diagnose report" in err


def test_output_file_and_history(run, tmp_path):
    target = tmp_path / "report.json"
    changes = {"internet": {"online": False, "any_target_reachable": False}, "dns": {"public_works": False}}
    for _ in range(3):
        code, out, err = run(["--json", "-o", str(target)], changes)
    assert code == 4 and out == "" and str(target) in err
    assert json.loads(target.read_text())["verdict"]["code"] == "L23"
    code, out, _ = run(["history"])
    assert code == 0 and "L23" in out and "3 times" in out
    _, out, _ = run(["--lang", "zh_CN", "history"])
    assert "3 次" in out
