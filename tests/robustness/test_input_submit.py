"""submit against hostile or unlucky conditions: it redacts what it sends unless told otherwise,
no server keeps it past its deadline, an echoed token is never stored, `localhost.` is not
loopback, and nothing queued is lost."""
from __future__ import annotations

import base64
import binascii
import codecs
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from diagnose import submit
from diagnose.exit_codes import ExitCode

from ._cli import diagnose

TOKEN = "Canary-T0ken-7f3a9c51e2"
MAC = "3c:52:82:12:34:56"
PUBLIC = "8.8.4.4"


def make_report() -> dict:
    return {"schema_version": 1, "id": str(uuid.uuid4()), "profile": "default-cn",
            "checks": [{"id": "interfaces", "facts": {"primary_mac": MAC, "external": PUBLIC}}],
            "verdict": {"side": "line", "code": "L23", "title": f"wan {PUBLIC} down",
                        "advice": ["call"], "evidence": {}}}


class Server:
    """A ticket server on 127.0.0.1 whose every answer `reply(handler)` writes."""

    def __init__(self, reply):
        self.bodies: list[bytes] = []
        self.hosts: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.hosts.append(self.headers.get("Host"))
                try:
                    reply(self)
                except OSError:
                    pass   # the client hung up, as it should

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/tickets"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def answer(status: int, body: bytes = b"", headers: dict | None = None):
    def reply(handler):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return reply


@pytest.fixture
def serve():
    running = []

    def make(reply):
        server = Server(reply)
        running.append(server)
        return server
    yield make
    for server in running:
        server.close()


def profile_for(url):
    return {"name": "t", "ticket": {"url": url, "token_env": "TICKET_TOKEN"}}


def queued(data: Path) -> list[Path]:
    return sorted((data / "queue").glob("*.json"))


# ------------------------------------------------------------------------------ redaction
def test_submit_redacts_a_report_that_was_saved_unredacted(serve, tmp_path):
    server = serve(answer(201))
    result = submit.submit(make_report(), profile=profile_for(server.url), env={},
                           data_dir=tmp_path)
    assert result.outcome == "delivered"
    sent = server.bodies[0].decode()
    assert MAC not in sent and PUBLIC not in sent
    assert "3c:52:82:" in sent   # the vendor part stays: it tells support the kind of device


def test_redact_false_sends_the_report_as_it_is(serve, tmp_path):
    server = serve(answer(201))
    submit.submit(make_report(), profile=profile_for(server.url), env={}, data_dir=tmp_path,
                  redact=False)
    assert MAC in server.bodies[0].decode() and PUBLIC in server.bodies[0].decode()


def test_the_cli_redacts_unless_told_otherwise(serve, tmp_path):
    server = serve(answer(201))
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"ticket: {{url: '{server.url}'}}\n")
    report = tmp_path / "full.json"
    report.write_text(json.dumps(make_report()))
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    ran = diagnose("--profile", str(profile), "submit", str(report), env=env)
    assert ran.code == ExitCode.NO_FAULT, ran.stderr
    assert MAC not in server.bodies[-1].decode() and PUBLIC not in server.bodies[-1].decode()
    again = json.loads(report.read_text())
    again["id"] = str(uuid.uuid4())
    report.write_text(json.dumps(again))
    ran = diagnose("--profile", str(profile), "submit", "--no-redact", str(report), env=env)
    assert ran.code == ExitCode.NO_FAULT, ran.stderr
    assert MAC in server.bodies[-1].decode()


# ------------------------------------------------------------------------------ deadlines
def trickle(handler):
    """One byte of a never-ending answer every 0.1 s: each read returns in time."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.1)


def test_a_trickling_server_cannot_keep_an_attempt_past_its_deadline(serve, tmp_path):
    server = serve(trickle)
    started = time.monotonic()
    result = submit.submit(make_report(), profile=profile_for(server.url), env={},
                           data_dir=tmp_path, attempts=1, timeout=(0.5, 0.5), total_timeout=10)
    elapsed = time.monotonic() - started
    assert result.code == "timeout" and result.in_queue and len(queued(tmp_path)) == 1
    assert elapsed < 0.5 + 0.5 + 1.0   # the attempt's connect and read budget, plus slack


def test_a_trickling_server_cannot_keep_a_report_past_its_total_budget(serve, tmp_path):
    server = serve(trickle)
    started = time.monotonic()
    result = submit.submit(make_report(), profile=profile_for(server.url), env={},
                           data_dir=tmp_path, attempts=5, backoff=0.01, timeout=(1.0, 1.0),
                           total_timeout=1.5)
    assert result.code == "timeout" and len(queued(tmp_path)) == 1
    assert time.monotonic() - started < 1.5 + 1.0


def test_send_pending_ends_by_its_command_deadline(serve, tmp_path):
    def slow_refusal(handler):
        time.sleep(0.6)
        answer(400)(handler)
    server = serve(slow_refusal)
    for _ in range(4):
        submit.queue(make_report(), tmp_path)
    started = time.monotonic()
    results = submit.send_pending(profile=profile_for(server.url), env={}, data_dir=tmp_path,
                                  command_timeout=1.0, total_timeout=5)
    assert time.monotonic() - started < 1.0 + 1.0
    assert len(results) == 4 and len(queued(tmp_path)) == 4   # nothing lost
    assert results[0].code == "rejected" and results[-1].attempts == 0


# --------------------------------------------------------------------------- token echoes
def forms(token: str) -> dict[str, str]:
    raw = token.encode()
    return {"as is": token, "lower": token.lower(), "upper": token.upper(),
            "reversed": token[::-1], "rot13": codecs.encode(token, "rot13"),
            "base64": base64.b64encode(raw).decode(),
            "base64 of the header": base64.b64encode(b"Bearer " + raw).decode(),
            "urlsafe": base64.urlsafe_b64encode(raw).decode(), "hex": binascii.hexlify(raw).decode(),
            "base32": base64.b32encode(raw).decode(), "half": token[: len(token) // 2]}


@pytest.mark.parametrize("form", sorted(forms(TOKEN)))
@pytest.mark.parametrize("wrap", ["plain", "json", "reason-field"])
def test_an_echoed_token_in_any_form_is_never_stored_or_shown(serve, tmp_path, form, wrap, caplog):
    echo = forms(TOKEN)[form]
    body = {"plain": f"bad token {echo}", "json": json.dumps({"got": echo}),
            "reason-field": json.dumps({"error": f"token {echo} refused"})}[wrap]
    server = serve(answer(401, body.encode()))
    caplog.set_level("DEBUG")
    result = submit.submit(make_report(), profile=profile_for(server.url),
                           env={"TICKET_TOKEN": TOKEN}, data_dir=tmp_path)
    assert result.code == "rejected_auth" and result.http_status == 401
    marker = next((tmp_path / "queue").glob("*.rejected")).read_text()
    stored = json.loads(marker)
    assert set(stored) <= {"at", "http_status", "code", "detail"}
    everything = " ".join([marker, repr(result), caplog.text, repr(submit.pending(tmp_path))])
    for name, variant in forms(TOKEN).items():
        assert variant.lower() not in everything.lower(), (name, everything)


def test_a_short_reason_without_the_token_is_kept(serve, tmp_path):
    server = serve(answer(400, json.dumps({"error": "schema version not supported"}).encode()))
    result = submit.submit(make_report(), profile=profile_for(server.url),
                           env={"TICKET_TOKEN": TOKEN}, data_dir=tmp_path)
    assert result.detail == "HTTP 400 Bad Request: schema version not supported"
    assert submit.pending(tmp_path)[0].detail == result.detail


# ------------------------------------------------------------------------------ loopback
@pytest.mark.parametrize("host", ["localhost.", "LOCALHOST.", "localhost.localdomain",
                                  "127.0.0.1.nip.io", "localhost.example"])
def test_a_name_resolved_through_dns_is_never_loopback(host, tmp_path, monkeypatch):
    def no_traffic(*args, **kwargs):
        raise AssertionError("no network traffic")
    monkeypatch.setattr(socket, "getaddrinfo", no_traffic)
    monkeypatch.setattr(socket, "create_connection", no_traffic)
    result = submit.submit(make_report(), profile=profile_for(f"http://{host}:8080/t"),
                           env={"TICKET_TOKEN": TOKEN}, data_dir=tmp_path)
    assert (result.code, result.attempts) == ("insecure_url", 0)
    assert len(queued(tmp_path)) == 1


def test_localhost_is_127_0_0_1_without_asking_a_resolver(serve, tmp_path, monkeypatch):
    server = serve(answer(201))
    real = socket.getaddrinfo
    asked = []

    def literal_only(host, *args, **kwargs):
        asked.append(host)
        if host != "127.0.0.1":
            raise AssertionError(f"{host} was looked up")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", literal_only)
    result = submit.submit(make_report(), profile=profile_for(f"http://localhost:{server.port}/t"),
                           env={"TICKET_TOKEN": TOKEN}, data_dir=tmp_path)
    assert result.outcome == "delivered", result
    assert server.hosts == [f"localhost:{server.port}"] and set(asked) == {"127.0.0.1"}


def test_docs_state_the_deadlines_and_limits_submit_uses():
    from diagnose.submit import post, retry
    text = (Path(__file__).resolve().parents[2] / "docs" / "submit.md").read_text(encoding="utf-8")
    connect, read = submit.DEFAULT_TIMEOUT
    assert f"{connect:g} s to connect plus {read:g} s to answer" in text
    assert f"| one report | {submit.DEFAULT_TOTAL_TIMEOUT:g} s" in text
    assert f"| `--pending` | {submit.DEFAULT_COMMAND_TIMEOUT:g} s" in text
    assert f"({submit.DEFAULT_ATTEMPTS} attempts, pauses from {submit.DEFAULT_BACKOFF:g} s" in text
    assert f"`Retry-After` of at most {submit.DEFAULT_MAX_RETRY_AFTER:g} s" in text
    assert f"at most {post.MAX_REASON} characters of plain words no longer than {post.MAX_WORD}" in text
    assert retry.MIN_ATTEMPT_S < 1


# -------------------------------------------------------------------- unusable data folder
def test_a_full_disk_and_a_failing_server_is_not_saved_never_queued(serve, tmp_path, monkeypatch):
    import errno

    from diagnose.exit_codes import for_submission
    from diagnose.submit import store

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(store, "atomic_write", full)
    server = serve(answer(500))
    result = submit.submit(make_report(), profile=profile_for(server.url), env={},
                           data_dir=tmp_path, attempts=1)
    assert (result.code, result.in_queue) == ("not_saved", False) and queued(tmp_path) == []
    assert "No space left" in result.detail
    assert for_submission([(result.outcome, result.code)]) == ExitCode.DATA_DIR


@pytest.mark.parametrize("pending", [False, True])
def test_a_queue_folder_that_cannot_be_made_gives_exit_77(tmp_path, pending):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "queue").write_text("not a folder")
    profile = tmp_path / "profile.yaml"
    profile.write_text("ticket: {url: 'http://127.0.0.1:9/t'}\n")   # nothing listens there
    report = tmp_path / "report.json"
    report.write_text(json.dumps(make_report()))
    args = ["--profile", str(profile), "submit"] + (["--pending"] if pending else [str(report)])
    ran = diagnose(*args, env={"DIAGNOSE_DATA_DIR": str(data)})
    assert ran.code == ExitCode.DATA_DIR, (ran.code, ran.stdout, ran.stderr)
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
    assert "queued" not in (ran.stdout + ran.stderr).lower().replace("not queued", "")
    said = ran.stdout + ran.stderr
    assert ("could not be saved" in said) if not pending else ("data folder" in said)
