"""The pages in process: login, languages, escaping, every template string translated."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from diagnose import catalog
from diagnose.i18n import LOCALE_DIR
from diagnose.server import pages

from . import reports
from .conftest import READ_TOKEN, WRITE_TOKEN, reader, writer

TEMPLATES = Path(pages.__file__).parent / "templates"
ZH = catalog.parse_po((LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "diagnose.po").read_text("utf-8"))
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def template_strings() -> set[str]:
    found = set()
    for path in TEMPLATES.glob("*.html"):
        for match in re.finditer(r'_\(\s*"((?:[^"\\]|\\.)*)"', path.read_text("utf-8")):
            found.add(ast.literal_eval(f'"{match.group(1)}"'))
    return found


def test_every_template_string_has_its_chinese_text():
    strings = template_strings()
    assert len(strings) > 40
    missing = sorted(s for s in strings if not ZH.get(s))
    assert not missing, f"add to diagnose.po: {missing}"


def login(client, token=READ_TOKEN):
    return client.post("/login", data={"token": token, "next": "/outages"}, follow_redirects=False)


def test_pages_need_a_read_token_login(client):
    answer = client.get("/outages", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    assert login(client, WRITE_TOKEN).status_code == 401      # subscribers' tokens never read
    assert login(client, "nonsense").status_code == 401
    assert client.get("/measure", follow_redirects=False).status_code == 303
    answer = login(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/outages"
    cookie = client.cookies.get(pages.COOKIE)
    assert cookie and READ_TOKEN not in cookie
    assert client.get("/outages").status_code == 200
    client.post("/logout")
    assert client.get("/outages", follow_redirects=False).status_code == 303
    # scripts use the bearer header instead
    assert client.get("/measure", headers=reader()).status_code == 200
    assert client.get("/measure", headers=writer(), follow_redirects=False).status_code == 303


def test_login_never_redirects_elsewhere(client):
    answer = client.post("/login", data={"token": READ_TOKEN, "next": "//evil.example/"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize("lang, accept, words", [
    ("zh_CN", None, ["热线", "正在发生的故障", "网络位置"]),
    (None, "zh-CN,zh;q=0.9", ["热线", "正在发生的故障"]),
    ("en", "zh-CN", ["Hotline", "Open outages"]),
    (None, "de-DE", ["Hotline", "Open outages"]),
])
def test_language_from_the_query_then_accept_language(client, engine, lang, accept, words):
    for who in ("a", "b", "c"):
        client.post("/v1/reports", headers=writer(), content=json.dumps(
            reports.make("line", ac="BRAS-L", installation=f"00000000-0000-4000-8000-00000000000{ord(who) % 10}")))
    headers = reader() | ({"Accept-Language": accept} if accept else {})
    page = client.get("/outages", params={"lang": lang} if lang else {}, headers=headers)
    assert page.status_code == 200
    for word in words:
        assert word in page.text
    assert "ac:BRAS-L" in page.text


def test_everything_from_a_report_is_escaped(client, engine):
    report = reports.make("line", ac=XSS, title=XSS, advice=[XSS])
    report["checks"][0]["reason"] = XSS
    assert client.post("/v1/reports", headers=writer(), content=json.dumps(report)).status_code == 201
    for path in (f"/reports/{report['id']}", "/?q=" + report["digest"]):
        page = client.get(path, headers=reader())
        assert page.status_code == 200
        assert "<script>" not in page.text and "<img src=x" not in page.text
    page = client.get(f"/reports/{report['id']}", headers=reader())
    assert "&lt;script&gt;" in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    typed = client.get("/", params={"q": XSS}, headers=reader())
    assert typed.status_code == 200 and "<script>" not in typed.text


def test_hotline_finds_by_id_digest_and_ticket(client, engine):
    report = reports.make("isp", installation="00000000-0000-4000-8000-0000000000aa",
                          title="The operator's DNS does not answer")
    client.post("/v1/reports", headers=writer(), content=json.dumps(report))
    by_id = client.get("/", params={"q": report["id"]}, headers=reader(), follow_redirects=True)
    assert "The operator&#39;s DNS does not answer" in by_id.text
    assert "Call the hotline and read out the code." in by_id.text
    by_digest = client.get("/", params={"q": report["digest"].lower()}, headers=reader())
    assert f"/reports/{report['id']}" in by_digest.text
    phone = client.post("/v1/digests", headers=reader(),
                        json={"digest": reports.make("line", code="L23")["digest"], "ticket": "T-77"})
    by_ticket = client.get("/", params={"q": "T-77"}, headers=reader())
    assert f"/reports/{phone.json()['id']}" in by_ticket.text
    detail = client.get(f"/reports/{phone.json()['id']}", params={"lang": "zh_CN"}, headers=reader())
    assert "L23" in detail.text and "由诊断码还原" in detail.text
    assert client.get("/reports/nope", headers=reader()).status_code == 404


def test_measure_counts_by_side(client, engine):
    for side in ("user", "user", "home", "line", "none"):
        client.post("/v1/reports", headers=writer(), content=json.dumps(reports.make(side)))
    page = client.get("/measure", params={"lang": "en"}, headers=reader())
    assert page.status_code == 200
    assert "Last 30 days: 5 reports; 60% settled at home" in page.text
    assert "20% tickets" in page.text
    assert page.text.count("<svg") >= 3
    assert client.get("/static/style.css").status_code == 200


def test_the_report_page_marks_the_checks_a_finding_cites(client, engine):
    report = reports.make("line", code="L23", ac="BRAS-L")
    assert client.post("/v1/reports", headers=writer(), content=json.dumps(report)).status_code == 201
    page = client.get(f"/reports/{report['id']}", headers=reader()).text
    row = next(line for line in page.splitlines() if "no answer from the access concentrator" in line)
    assert 'class="status-ok cited"' in row and '<span class="code">L23</span>' in row
    assert page.count(" cited\"") == 1          # pppoe only: no finding cites the others
