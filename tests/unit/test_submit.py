"""Report submission against real HTTP servers on 127.0.0.1: queue first, deliver, never lose one."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from diagnose import datadir, submit
from diagnose.clock import Clock
from diagnose.submit import ReportError, SubmitResult

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-T0ken.value_9f8e7d"


class SkipClock(Clock):
    """Real time for what the network takes, skipped time for submit's own pauses: a test never
    sleeps, yet every deadline holds (pauses count as if they had been waited)."""

    def __init__(self):
        skipped = [0.0]
        pauses: list[float] = []
        object.__setattr__(self, "pauses", pauses)
        super().__init__(monotonic=lambda: time.monotonic() + skipped[0],
                         sleep=lambda seconds: (pauses.append(seconds),
                                                skipped.__setitem__(0, skipped[0] + seconds)),
                         time=time.time)


FAST = dict(backoff=0.02, timeout=(1.0, 1.0), total_timeout=5.0, clock=SkipClock())


def make_report(**verdict) -> dict:
    return {
        "schema_version": 1, "id": str(uuid.uuid4()),
        "tool": {"name": "diagnose", "version": "0.1.0"},
        "started_at": "2024-05-01T10:00:00.000Z", "duration_ms": 1200, "privileged": False,
        "lang": "zh_CN", "profile": "default-cn", "interrupted": False, "checks": [], "findings": [],
        "verdict": {"side": "line", "code": "L23", "rule": "pppoe-no-answer", "title": "线路故障",
                    "advice": ["致电运营商"], "ticket": True, "confidence": "high", "evidence": {},
                    **verdict},
    }


class TicketServer:
    """An idempotent ticket endpoint: stores each Idempotency-Key once (201, then 409).

    `plan` lists what to do for the next requests, then `default` applies:
    ("store",) | ("status", code, headers, body) | ("drop",) store then close without answer |
    ("stall",) store then hold the request until `release` | ("echo_auth",) 401 echoing the header.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None):
        self.received: list[dict] = []
        self.tickets: dict[str, bytes] = {}
        self.plan: list[tuple] = []
        self.default: tuple = ("store",)
        self.pairs: threading.Barrier | None = None   # pair_up()
        self.paired = 0
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key")
                with owner.lock:
                    owner.received.append({"key": key, "body": body, "at": time.monotonic(),
                                           "headers": {k.lower(): v for k, v in self.headers.items()}})
                    action = owner.plan.pop(0) if owner.plan else owner.default
                owner.got_request.set()
                if owner.pairs is not None:
                    try:
                        owner.pairs.wait()
                        with owner.lock:
                            owner.paired += 1
                    except threading.BrokenBarrierError:   # no partner came: answer anyway
                        pass
                kind = action[0]
                if kind == "store":
                    self.answer(owner.store(key, body))
                elif kind == "status":
                    self.answer(action[1], action[2], action[3])
                elif kind == "echo_auth":
                    self.answer(401, body=f"bad credentials: {self.headers.get('Authorization')}")
                elif kind == "drop":
                    owner.store(key, body)
                    self.close_connection = True
                elif kind == "stall":
                    owner.store(key, body)
                    owner.release.wait(60)
                    self.close_connection = True

            def answer(self, status, headers=None, body=""):
                data = body.encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        # A short poll: shutdown() waits for it at the end of every test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def pair_up(self, wait: float = 10.0) -> None:
        """Hold each request until another one arrives, then answer both: two senders are
        proven to overlap without a fixed delay (a request left alone waits `wait` at most)."""
        self.pairs = threading.Barrier(2, timeout=wait)

    def store(self, key, body) -> int:
        with self.lock:
            if key in self.tickets:
                return 409
            self.tickets[key] = body
            return 201

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}/tickets"

    def keys(self) -> list[str]:
        with self.lock:
            return [request["key"] for request in self.received]

    def start(self) -> "TicketServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = TicketServer().start()
    yield running
    running.stop()


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "data"


def profile_for(url: str | None, token_env: str | None = "TICKET_TOKEN") -> dict:
    return {"name": "test", "ticket": {"url": url, "token_env": token_env}}


def free_port() -> int:
    """A port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def queued(data: Path) -> list[Path]:
    folder = data / "queue"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def no_network(monkeypatch):
    """Any attempt to resolve or connect fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network traffic attempted")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(requests.Session, "send", refuse)


def assert_no_token(*texts):
    for text in texts:
        assert TOKEN not in str(text)


# ------------------------------------------------------------------ delivery

def test_delivers_the_exact_json_with_key_and_token_and_never_shows_the_token(
        server, data, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    report = make_report()
    result = submit.submit(report, profile=profile_for(server.url), env={"TICKET_TOKEN": TOKEN},
                           data_dir=data)
    assert (result.outcome, result.code, result.http_status, result.attempts) == \
        ("delivered", "delivered", 201, 1)
    assert result.path is None and result.message == submit.MESSAGES["delivered"]
    [request] = server.received
    assert json.loads(request["body"]) == report
    assert request["body"] == submit._encode(report)
    assert request["key"] == report["id"]
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert queued(data) == []
    out, err = capsys.readouterr()
    assert_no_token(repr(result), dataclasses.asdict(result), str(result), caplog.text, out, err)
    assert any("delivered" in record.getMessage() for record in caplog.records)


def test_no_authorization_header_when_the_token_variable_is_unset(server, data):
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data)
    assert result.outcome == "delivered"
    assert "authorization" not in server.received[0]["headers"]


def test_token_surrounding_white_space_is_stripped(server, data):
    result = submit.submit(make_report(), profile=profile_for(server.url),
                           env={"TICKET_TOKEN": f"  {TOKEN}\n"}, data_dir=data)
    assert result.outcome == "delivered"
    assert server.received[0]["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_a_token_with_a_line_break_inside_is_refused_without_being_shown(server, data, caplog):
    caplog.set_level(logging.DEBUG)
    bad = f"{TOKEN}\r\nX-Evil: 1"
    result = submit.submit(make_report(), profile=profile_for(server.url),
                           env={"TICKET_TOKEN": bad}, data_dir=data)
    assert (result.outcome, result.code) == ("error", "bad_token")
    assert "$TICKET_TOKEN" in result.detail
    assert_no_token(repr(result), caplog.text)
    assert server.received == [] and len(queued(data)) == 1


def test_submit_accepts_the_path_of_a_report_file(server, data, tmp_path):
    report = make_report()
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report, indent=2), encoding="utf-8")
    result = submit.submit(saved, profile=profile_for(server.url), env={}, data_dir=data)
    assert result.outcome == "delivered"
    assert json.loads(server.received[0]["body"]) == report


@pytest.mark.parametrize("report", [
    {"id": "../../etc/passwd"}, {"id": "A1B2C3D4-0000-4000-8000-000000000000"}, {"no": "id"}, [],
    {"id": str(uuid.UUID(int=1)), "x": float("nan")},
])
def test_a_report_without_a_valid_id_is_refused_before_anything_is_written(report, data):
    with pytest.raises(ReportError):
        submit.submit(report, profile=profile_for("https://tickets.invalid/"), env={}, data_dir=data)
    assert queued(data) == []


# ------------------------------------------------------------------ failures keep the report

def test_server_down_leaves_the_report_queued(data):
    report = make_report()
    url = f"http://127.0.0.1:{free_port()}/tickets"
    result = submit.submit(report, profile=profile_for(url), env={"TICKET_TOKEN": TOKEN},
                           data_dir=data, **FAST)
    assert (result.outcome, result.code, result.attempts) == ("queued", "unreachable", 3)
    assert "ECONNREFUSED" in result.detail
    [path] = queued(data)
    assert result.path == str(path) and path.name == f"{report['id']}.json"
    assert json.loads(path.read_bytes()) == report
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "queue").stat().st_mode) == 0o700
    assert_no_token(repr(result), path.read_text())


# A slow server and the total budget, in real time: tests/robustness/test_input_submit.py.


def test_the_default_budget_is_bounded_to_ten_seconds(server, data, monkeypatch):
    budgets = []
    real = submit._deliver

    def measured(body, report_id, target, options):
        budgets.append(options.deadline - options.clock.monotonic())
        return real(body, report_id, target, options)
    monkeypatch.setattr(submit, "_deliver", measured)
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data)
    assert result.outcome == "delivered"
    assert submit.DEFAULT_TOTAL_TIMEOUT <= 10 and 0 < budgets[0] <= submit.DEFAULT_TOTAL_TIMEOUT


def test_500_then_200_is_delivered_on_retry(server, data):
    server.plan = [("status", 500, {}, "oops")]
    report = make_report()
    result = submit.submit(report, profile=profile_for(server.url), env={}, data_dir=data, **FAST)
    assert (result.outcome, result.attempts, result.http_status) == ("delivered", 2, 201)
    assert server.keys() == [report["id"], report["id"]]
    assert queued(data) == []


def test_429_retry_after_is_honoured(server, data):
    server.plan = [("status", 429, {"Retry-After": "1"}, "")]
    clock = SkipClock()
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data,
                           **{**FAST, "clock": clock})
    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert len(server.received) == 2 and clock.pauses and clock.pauses[0] >= 1.0


def test_a_retry_after_beyond_the_cap_ends_the_attempts_and_keeps_the_report(server, data):
    server.default = ("status", 503, {"Retry-After": "3600"}, "maintenance")
    started = time.monotonic()
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data,
                           **FAST)
    assert (result.outcome, result.code, result.http_status, result.attempts) == \
        ("queued", "server_busy", 503, 1)
    assert "3600" in result.detail and time.monotonic() - started < 2
    assert len(queued(data)) == 1


def test_400_is_rejected_and_kept_in_the_queue_with_the_reason(server, data):
    server.plan = [("status", 400, {}, "field verdict missing")]
    report = make_report()
    result = submit.submit(report, profile=profile_for(server.url), env={}, data_dir=data, **FAST)
    assert (result.outcome, result.code, result.http_status, result.attempts) == \
        ("rejected", "rejected", 400, 1)
    assert "field verdict missing" in result.detail
    assert [path.stem for path in queued(data)] == [report["id"]]
    [entry] = submit.pending(data)
    assert (entry.id, entry.state, entry.http_status, entry.code) == \
        (report["id"], "rejected", 400, "rejected")
    assert "field verdict missing" in entry.detail
    # A rejected report is not resent by every later run...
    assert submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data) == []
    assert len(server.received) == 1
    # ...but on request (say, once the operator fixed the server), and then it leaves the queue.
    [again] = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data,
                                  retry_rejected=True)
    assert again.outcome == "delivered" and queued(data) == [] and submit.pending(data) == []
    assert not list((data / "queue").glob("*.rejected"))


def test_a_server_echoing_the_token_back_does_not_leak_it(server, data, caplog):
    caplog.set_level(logging.DEBUG)
    server.plan = [("echo_auth",)]
    result = submit.submit(make_report(), profile=profile_for(server.url),
                           env={"TICKET_TOKEN": TOKEN}, data_dir=data, **FAST)
    assert (result.outcome, result.code, result.http_status) == ("rejected", "rejected_auth", 401)
    assert result.detail == "HTTP 401 Unauthorized"   # the echo is neither kept nor shown
    marker = next((data / "queue").glob("*.rejected")).read_text()
    assert_no_token(repr(result), result.detail, marker, caplog.text, submit.pending(data))


def test_401_without_the_token_variable_says_which_variable(server, data):
    server.plan = [("status", 401, {}, "")]
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data)
    assert result.code == "rejected_auth" and "$TICKET_TOKEN is not set" in result.detail


def test_a_redirect_is_not_followed(server, data):
    server.plan = [("status", 301, {"Location": "http://192.0.2.1/elsewhere"}, "")]
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data,
                           **FAST)
    assert (result.outcome, result.code, result.http_status, result.attempts) == \
        ("queued", "unexpected_response", 301, 1)
    assert "192.0.2.1" in result.detail and len(queued(data)) == 1


def test_no_ticket_url_is_an_error_and_the_report_stays_queued(data, monkeypatch):
    no_network(monkeypatch)
    result = submit.submit(make_report(), profile=profile_for(None), env={}, data_dir=data)
    assert (result.outcome, result.code) == ("error", "no_ticket_url")
    assert len(queued(data)) == 1
    [again] = submit.send_pending(profile={"ticket": {}}, env={}, data_dir=data)
    assert again.code == "no_ticket_url" and len(queued(data)) == 1


@pytest.mark.parametrize("url", ["http://192.0.2.1/tickets", "http://tickets.example/x",
                                 "http://127.0.0.1.nip.io/x", "http://localhost.example.com/x"])
def test_plain_http_to_a_remote_host_is_refused_without_traffic(url, data, monkeypatch):
    no_network(monkeypatch)
    result = submit.submit(make_report(), profile=profile_for(url), env={"TICKET_TOKEN": TOKEN},
                           data_dir=data)
    assert (result.outcome, result.code, result.attempts) == ("error", "insecure_url", 0)
    assert "https://" in result.message and len(queued(data)) == 1
    [again] = submit.send_pending(profile=profile_for(url), env={}, data_dir=data)
    assert again.code == "insecure_url" and len(queued(data)) == 1


@pytest.mark.parametrize("url", ["ftp://host/x", "https://", "https://user:pw@host/x",
                                 "https://[::1/x", "https://host:99999/x"])
def test_unusable_addresses_are_refused_without_traffic(url, data, monkeypatch):
    no_network(monkeypatch)
    result = submit.submit(make_report(), profile=profile_for(url), env={}, data_dir=data)
    assert (result.outcome, result.code) == ("error", "bad_url")
    assert "pw" not in (result.detail or "") and len(queued(data)) == 1


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
    ("LOCALHOST", True), ("localhost.", False), ("::ffff:127.0.0.1", True), ("192.0.2.1", False), ("10.0.0.1", False),
    ("localhost.example.com", False), ("127.0.0.1.nip.io", False), ("::2", False),
])
def test_loopback_hosts(host, loopback):
    assert submit.is_loopback(host) is loopback


def test_certificates_are_verified(data, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = TicketServer(context).start()
    try:
        result = submit.submit(make_report(), profile=profile_for(tls.url), env={}, data_dir=data,
                               **FAST)
    finally:
        tls.stop()
    assert (result.outcome, result.code, result.attempts) == ("queued", "tls_error", 1)
    assert tls.tickets == {} and len(queued(data)) == 1


def test_the_environment_proxy_is_used_for_a_remote_server(data, monkeypatch):
    seen: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(10)

    def proxy():
        try:
            while True:
                connection, _ = listener.accept()
                with connection:
                    seen.append(connection.recv(4096))
                    connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            return

    thread = threading.Thread(target=proxy, daemon=True)
    thread.start()
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        result = submit.submit(make_report(), profile=profile_for("https://tickets.example.invalid/t"),
                               env={"TICKET_TOKEN": TOKEN}, data_dir=data, attempts=1, **FAST)
    finally:
        listener.close()
    assert (result.outcome, result.code) == ("queued", "unreachable")
    assert seen and seen[0].startswith(b"CONNECT tickets.example.invalid:443 ")
    assert all(TOKEN.encode() not in chunk for chunk in seen)


def test_a_proxy_in_the_environment_is_not_used_for_loopback(server, data, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data)
    assert result.outcome == "delivered"


# ------------------------------------------------------------------ the queue

def test_queue_is_idempotent(data):
    report = make_report()
    first = submit.queue(report, data)
    os.utime(first, ns=(10**18, 10**18))   # a rewrite would change this
    mtime = first.stat().st_mtime_ns
    assert submit.queue(dict(report), data) == first
    assert first.stat().st_mtime_ns == mtime and queued(data) == [first]
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_queue_writes_atomically(data, monkeypatch):
    report = make_report()
    target = data / "queue" / f"{report['id']}.json"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        submit.queue(report, data)
    assert not target.exists()
    assert list((data / "queue").iterdir()) == []        # no temp file left behind either
    # An update that fails leaves the previous content whole.
    monkeypatch.undo()
    submit.queue(report, data)
    before = target.read_bytes()
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        submit.queue({**report, "lang": "en"}, data)
    assert target.read_bytes() == before
    assert [path.name for path in (data / "queue").iterdir()] == [target.name]


def test_an_unwritable_queue_still_tries_to_deliver(server, data, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(os, "replace", broken_replace)
    result = submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=data)
    assert result.outcome == "delivered" and "Read-only" in result.detail
    down = profile_for(f"http://127.0.0.1:{free_port()}/")
    result = submit.submit(make_report(), profile=down, env={}, data_dir=data, **FAST)
    assert (result.outcome, result.code, result.path) == ("error", "not_saved", None)
    assert "unreachable" in result.detail


def test_malformed_queue_files_are_moved_aside_and_never_crash_the_run(server, data):
    good = make_report()
    submit.queue(good, data)
    folder = data / "queue"
    truncated_id, mismatched_id = str(uuid.uuid4()), str(uuid.uuid4())
    contents = {
        f"{truncated_id}.json": b'{"id": "' + truncated_id.encode() + b'", "checks": [',
        "garbage.json": b"\x00\xff not json",
        f"{mismatched_id}.json": json.dumps(make_report()).encode(),
        f"{str(uuid.uuid4())}.json": b"[1, 2, 3]",
    }
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    (folder / "bad").mkdir()
    (folder / "bad" / "garbage.json").write_bytes(b"an older bad file")
    results = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data)
    by_code = {}
    for result in results:
        by_code.setdefault(result.code, []).append(result)
    assert [result.id for result in by_code["delivered"]] == [good["id"]]
    assert len(by_code["bad_file"]) == 4
    assert all(result.outcome == "error" and "/bad/" in result.path for result in by_code["bad_file"])
    assert queued(data) == [] and server.keys() == [good["id"]]
    bad = folder / "bad"
    assert (bad / "garbage.json").read_bytes() == b"an older bad file"      # never overwritten
    assert (bad / "garbage.json.1").read_bytes() == contents["garbage.json"]
    for name, content in contents.items():
        if name != "garbage.json":
            assert (bad / name).read_bytes() == content
    assert {entry.state for entry in submit.pending(data)} == {"bad"}


def test_send_pending_delivers_queued_reports_exactly_once_oldest_first(data):
    url_down = f"http://127.0.0.1:{free_port()}/tickets"
    reports = [make_report() for _ in range(3)]
    for report in reports:
        result = submit.submit(report, profile=profile_for(url_down), env={}, data_dir=data, **FAST)
        assert result.outcome == "queued"
        stamp = 10**18 + len(submit.pending(data)) * 10**9   # queued one second after another
        os.utime(result.path, ns=(stamp, stamp))
    assert [entry.id for entry in submit.pending(data)] == [report["id"] for report in reports]
    up = TicketServer().start()
    try:
        results = submit.send_pending(profile=profile_for(up.url), env={}, data_dir=data)
        assert [(r.id, r.outcome) for r in results] == [(r["id"], "delivered") for r in reports]
        assert up.keys() == [report["id"] for report in reports]            # each once, in order
        assert {key: json.loads(body) for key, body in up.tickets.items()} == \
            {report["id"]: report for report in reports}
        assert submit.send_pending(profile=profile_for(up.url), env={}, data_dir=data) == []
        assert len(up.received) == 3 and queued(data) == []
    finally:
        up.stop()


def test_send_pending_stops_calling_a_dead_server_after_the_first_failure(data):
    url_down = f"http://127.0.0.1:{free_port()}/tickets"
    for _ in range(3):
        submit.queue(make_report(), data)
    results = submit.send_pending(profile=profile_for(url_down), env={}, data_dir=data, **FAST)
    assert [(r.outcome, r.code) for r in results] == [("queued", "unreachable")] * 3
    assert [r.attempts for r in results] == [3, 0, 0]
    assert len(queued(data)) == 3


def test_a_lost_answer_is_resent_and_deduplicated_by_the_key(server, data):
    server.plan = [("drop",)]           # the server stores the ticket, the answer never arrives
    report = make_report()
    result = submit.submit(report, profile=profile_for(server.url), env={}, data_dir=data, **FAST)
    assert (result.outcome, result.code, result.http_status, result.attempts) == \
        ("delivered", "already_delivered", 409, 2)
    assert server.keys() == [report["id"]] * 2 and list(server.tickets) == [report["id"]]
    assert queued(data) == []


def test_a_report_locked_by_another_run_is_skipped(server, data):
    report = make_report()
    path = submit.queue(report, data)
    holder = submit.lock.ReportLock(path.parent, path.name)
    assert holder.acquire(wait=0)
    try:
        [result] = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data)
        assert (result.outcome, result.code) == ("queued", "in_progress")
        clock = SkipClock()     # the wait for the lock passes on it, within the budget
        result = submit.submit(report, profile=profile_for(server.url), env={}, data_dir=data,
                               total_timeout=0.5, clock=clock)
        assert result.code == "in_progress" and 0 < sum(clock.pauses) <= 0.5
    finally:
        holder.release()
    assert server.received == [] and queued(data) == [path]


def test_two_concurrent_send_pending_threads_never_post_the_same_report(server, data):
    server.pair_up()
    reports = [make_report() for _ in range(6)]
    for report in reports:
        submit.queue(report, data)
    barrier = threading.Barrier(2)
    outputs: list[list[SubmitResult]] = [[], []]

    def run(index):
        barrier.wait()
        outputs[index] = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data)
    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    keys = server.keys()
    assert sorted(keys) == sorted(report["id"] for report in reports)      # each POSTed once
    delivered = [r.id for output in outputs for r in output if r.outcome == "delivered"]
    assert sorted(delivered) == sorted(keys)
    assert queued(data) == []
    assert server.paired >= 2          # the two were posting at the same time


CHILD = textwrap.dedent("""
    import dataclasses, json, sys
    sys.path.insert(0, sys.argv[1])
    from diagnose import submit
    action, profile, data = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    if action == "submit":
        submit.submit(json.loads(sys.argv[5]), profile=profile, env={}, data_dir=data,
                      timeout=(5, 60), total_timeout=120)
    else:
        results = submit.send_pending(profile=profile, env={}, data_dir=data)
        print(json.dumps([dataclasses.asdict(r) for r in results]))
""")


def child(action, profile, data, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), action, json.dumps(profile),
                             str(data), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def test_two_concurrent_send_pending_processes_never_post_the_same_report(server, data):
    server.pair_up()
    reports = [make_report() for _ in range(6)]
    for report in reports:
        submit.queue(report, data)
    runs = [child("send_pending", profile_for(server.url), data) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    results = [r for out, _ in outputs for r in json.loads(out)]
    assert sorted(server.keys()) == sorted(report["id"] for report in reports)
    assert sorted(r["id"] for r in results if r["outcome"] == "delivered") == sorted(server.keys())
    assert queued(data) == []
    assert server.paired >= 2          # the two were posting at the same time


def test_kill_9_during_the_post_keeps_the_report_and_a_later_run_delivers_it(server, data):
    server.default = ("stall",)
    report = make_report()
    process = child("submit", profile_for(server.url), data, json.dumps(report))
    try:
        assert server.got_request.wait(30), process.stderr.read() if process.poll() else "no request"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    [path] = queued(data)
    assert json.loads(path.read_bytes()) == report
    assert [entry.state for entry in submit.pending(data)] == ["waiting"]
    server.release.set()
    server.default = ("store",)
    [result] = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data)
    # The stalled server had stored it; the resend carries the same key, so no second ticket.
    assert result.outcome == "delivered" and result.code in ("delivered", "already_delivered")
    assert server.keys() == [report["id"]] * 2 and list(server.tickets) == [report["id"]]
    assert queued(data) == []


def test_stale_temp_files_and_orphan_markers_are_cleaned(server, data):
    folder = submit.queue_dir(data)
    stale = folder / ".abc.tmp"
    stale.write_bytes(b'{"half')
    old = time.time() - 2 * submit.STALE_TEMP_S
    os.utime(stale, (old, old))
    fresh = folder / ".def.tmp"
    fresh.write_bytes(b"{")
    (folder / f"{uuid.uuid4()}.rejected").write_text("{}")
    assert submit.send_pending(profile=profile_for(server.url), env={}, data_dir=data) == []
    assert sorted(path.name for path in folder.iterdir() if path.is_file()) == [".def.tmp"]


def test_message_codes_are_a_small_closed_set():
    assert set(submit.OUTCOME_OF.values()) == set(submit.OUTCOMES)
    assert all(len(text) < 120 for text in submit.MESSAGES.values())


# ------------------------------------------------------------------ the data folder

def test_data_dir_precedence_and_private_mode(tmp_path):
    old = os.umask(0o022)
    try:
        given = datadir.data_dir({"DIAGNOSE_DATA_DIR": str(tmp_path / "a" / "b"),
                                  "XDG_DATA_HOME": str(tmp_path / "x"), "HOME": str(tmp_path)})
        assert given == tmp_path / "a" / "b" and given.is_dir()
        assert stat.S_IMODE(given.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
        xdg = datadir.data_dir({"XDG_DATA_HOME": str(tmp_path / "x"), "HOME": str(tmp_path)})
        assert xdg == tmp_path / "x" / "diagnose" and stat.S_IMODE(xdg.stat().st_mode) == 0o700
        home = datadir.data_dir({"XDG_DATA_HOME": "relative/ignored", "HOME": str(tmp_path / "h")},
                                create=False)
        assert home == tmp_path / "h" / ".local" / "share" / "diagnose" and not home.exists()
    finally:
        os.umask(old)


def test_data_dir_keeps_the_mode_of_an_existing_folder(tmp_path):
    existing = tmp_path / "portable"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    assert datadir.data_dir({"DIAGNOSE_DATA_DIR": str(existing)}) == existing
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755
