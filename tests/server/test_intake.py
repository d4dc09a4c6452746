"""POST /v1/reports and friends, in process: every answer the issue names, nothing half-stored."""
from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from diagnose.server import store

from . import reports
from .conftest import READ_TOKEN, WRITE_TOKEN, reader, writer


def post(client, report, headers=None):
    return client.post("/v1/reports", content=json.dumps(report).encode(),
                       headers=headers if headers is not None else writer())


def test_stored_then_already_stored_then_read_back(client, engine):
    report = reports.make("line", installation="0f0e0d0c-0000-4000-8000-000000000001", ac="BRAS-7")
    first = post(client, report)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": report["id"], "status": "stored"}
    assert first.headers["location"] == f"/v1/reports/{report['id']}"
    again = post(client, report)
    assert again.status_code == 200 and again.json()["status"] == "already stored"
    assert store.count(engine) == 1
    got = client.get(f"/v1/reports/{report['id']}", headers=reader())
    assert got.status_code == 200
    assert got.json()["report"] == report
    assert got.json()["locators"] == ["ac:BRAS-7"]
    assert got.json()["side"] == "line" and got.json()["code"] == "L22"


def test_same_id_other_content_is_a_conflict_and_keeps_the_first(client, engine):
    report = reports.make("user")
    assert post(client, report).status_code == 201
    changed = dict(report, duration_ms=report["duration_ms"] + 1)
    answer = post(client, changed)
    assert answer.status_code == 409 and answer.json()["error"] == "conflict"
    assert client.get(f"/v1/reports/{report['id']}", headers=reader()).json()["report"] == report


def test_numbers_are_stored_exactly(client, engine):
    report = reports.make("line")
    report["checks"][0]["facts"].update(big=2**70, negative=-2**64, tiny=1e-05, huge=1.5e300)
    assert post(client, report).status_code == 201
    stored = client.get(f"/v1/reports/{report['id']}", headers=reader()).json()["report"]
    assert stored == report and type(stored["checks"][0]["facts"]["big"]) is int
    assert post(client, report).status_code == 200


def test_a_report_stored_by_an_older_encoder_is_already_stored(client, engine):
    """The stdlib wrote 1e-05 where this version writes 1e-5: sent again, still the same report."""
    report = reports.make("line")
    report["checks"][0]["facts"]["loss"] = 1e-05
    assert post(client, report).status_code == 201
    old = json.dumps(report, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert old != store.encode(report)
    with engine.begin() as connection:
        connection.execute(store.reports.update().where(store.reports.c.id == report["id"])
                           .values(body=old, body_sha256=hashlib.sha256(old.encode()).hexdigest()))
    assert post(client, report).status_code == 200
    report["checks"][0]["facts"]["loss"] = 2e-05
    assert post(client, report).status_code == 409


def test_tokens(client, engine):
    report = reports.make("home")
    missing = post(client, report, {"Content-Type": "application/json"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = post(client, report, {"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "unknown token"
    basic = post(client, report, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    assert post(client, report, {"Authorization": f"Bearer {READ_TOKEN}"}).status_code == 403
    assert store.count(engine) == 0
    assert post(client, report).status_code == 201
    assert client.get(f"/v1/reports/{report['id']}", headers=writer()).status_code == 403
    assert client.get(f"/v1/reports/{report['id']}").status_code == 401
    assert client.get("/v1/outages").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_schema_violation_names_the_path(client, engine):
    report = reports.make("line")
    report["verdict"]["side"] = "moon"
    answer = post(client, report)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_report" and answer.json()["path"] == "$.verdict.side"
    del report["verdict"]
    assert post(client, reports.make("line") | {"extra": 1}).json()["path"] == "$"
    wrong_digest = reports.make("line")
    wrong_digest["digest"] = reports.make("user")["digest"]
    answer = post(client, wrong_digest)
    assert answer.status_code == 422 and answer.json()["path"] == "$.digest"
    assert store.count(engine) == 0


def test_bad_bodies_get_a_clear_4xx_and_store_nothing(client, engine):
    cases = {
        b"{not json": (400, "malformed_json"),
        b"\xff\xfe": (400, "bad_encoding"),
        b"[" * 100_000 + b"]" * 100_000: (400, "too_deep"),
        b'{"a": NaN}': (400, "malformed_json"),
        b'{"a": 1e400}': (400, "malformed_json"),
        b'{"a": "\\ud800"}': (400, "malformed_json"),
        b"[]": (422, "invalid_report"),
        b"": (400, "malformed_json"),
    }
    for body, (status, error) in cases.items():
        answer = client.post("/v1/reports", content=body, headers=writer())
        assert (answer.status_code, answer.json()["error"]) == (status, error), body[:20]
    form = client.post("/v1/reports", content=b"a=b", headers=writer()
                       | {"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert store.count(engine) == 0


def test_too_large_by_length_and_while_streaming(client, settings, engine):
    big = json.dumps(reports.make("line") | {"pad": "x" * settings.max_body}).encode()
    assert client.post("/v1/reports", content=big, headers=writer()).status_code == 413

    def chunks():   # no Content-Length: the cap applies while reading
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]
    answer = client.post("/v1/reports", content=chunks(), headers=writer())
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    assert store.count(engine) == 0


def test_idempotency_key_must_be_the_report_id(client, engine):
    report = reports.make("isp")
    answer = post(client, report, writer() | {"Idempotency-Key": "another"})
    assert answer.status_code == 400 and answer.json()["error"] == "idempotency_key_mismatch"
    assert post(client, report, writer() | {"Idempotency-Key": report["id"]}).status_code == 201


def test_a_clock_far_ahead_is_dated_on_receipt(client, engine):
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)
    report = reports.make("line", at=future)
    assert post(client, report).status_code == 201
    observed = client.get(f"/v1/reports/{report['id']}", headers=reader()).json()["observed_at"]
    assert observed[:4] == str(datetime.datetime.now(datetime.timezone.utc).year)


def test_digest_is_stored_as_a_phone_report(client, engine):
    subscriber = reports.make("line")
    typed = subscriber["digest"].lower().replace("0", "o").replace("-", " ")
    answer = client.post("/v1/digests", json={"digest": typed, "ticket": "T-2026-001",
                                              "locator": "area: Haidian  3"}, headers=writer())
    assert answer.status_code == 201, answer.text
    assert answer.json()["digest"] == subscriber["digest"]
    again = client.post("/v1/digests", json={"digest": subscriber["digest"], "ticket": "T-2026-001",
                                             "locator": "area:Haidian 3"}, headers=writer())
    assert again.status_code == 200
    stored = client.get(f"/v1/reports/{answer.json()['id']}", headers=reader()).json()
    assert stored["source"] == "phone" and stored["ticket"] == "T-2026-001"
    assert stored["side"] == "line" and stored["code"] == "L22"
    assert stored["locators"] == ["area:Haidian 3"]
    # hotline staff (read token) may enter digests too
    assert client.post("/v1/digests", json={"digest": subscriber["digest"], "ticket": "T-2"},
                       headers=reader()).status_code == 201


def test_a_digest_entered_again_later_is_already_stored(engine):
    from diagnose.server import intake
    from diagnose.server.config import OutageRule
    payload = {"digest": reports.make("line")["digest"], "ticket": "T-7"}
    first = intake.phone_report(payload, datetime.datetime(2026, 12, 2, 9, 0, 0))
    later = intake.phone_report(payload, datetime.datetime(2026, 12, 2, 9, 5, 1))
    assert first["id"] == later["id"] and first["entered_at"] != later["entered_at"]
    assert store.ingest(engine, first, OutageRule()) == store.CREATED
    assert store.ingest(engine, later, OutageRule()) == store.EXISTS
    moved = intake.phone_report({**payload, "locator": "area:Haidian-3"},
                                datetime.datetime(2026, 12, 2, 9, 6))
    assert store.ingest(engine, moved, OutageRule()) == store.CONFLICT


def test_bad_digests(client, engine):
    good = reports.make("line")["digest"]
    mistyped = good[:-1] + ("0" if good[-1] != "0" else "1")
    for payload, path in (({"digest": mistyped, "ticket": "T"}, "$.digest"),
                          ({"digest": good}, "$.ticket"),
                          ({"digest": good, "ticket": "x" * 65}, "$.ticket"),
                          ({"digest": good, "ticket": "T", "locator": "street 5"}, "$.locator"),
                          ({"digest": good, "ticket": "T", "who": 1}, "$.who"),
                          (["a"], "$")):
        answer = client.post("/v1/digests", json=payload, headers=writer())
        assert answer.status_code == 422 and answer.json()["path"] == path, payload
    assert "mistyped" in client.post("/v1/digests", json={"digest": mistyped, "ticket": "T"},
                                     headers=writer()).json()["detail"]
    assert store.count(engine) == 0


def test_search(client, engine):
    now = datetime.datetime.now(datetime.timezone.utc)
    old = reports.make("line", ac="BRAS-1", at=now - datetime.timedelta(days=3))
    new = reports.make("line", ac="BRAS-2", at=now - datetime.timedelta(hours=1))
    user = reports.make("user", at=now)
    for report in (old, new, user):
        assert post(client, report).status_code == 201

    def ids(**query):
        answer = client.get("/v1/reports", params=query, headers=reader())
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["reports"]]
    assert ids() == [user["id"], new["id"], old["id"]]
    assert ids(side="line") == [new["id"], old["id"]]
    assert ids(code="U22") == [user["id"]]
    assert ids(locator="ac:BRAS-1") == [old["id"]]
    assert ids(since=(now - datetime.timedelta(days=1)).isoformat()) == [user["id"], new["id"]]
    assert ids(until=(now - datetime.timedelta(days=1)).isoformat()) == [old["id"]]
    assert ids(digest=user["digest"].lower()) == [user["id"]]
    assert client.get("/v1/reports", params={"side": "moon"}, headers=reader()).status_code == 422
    assert client.get("/v1/reports", params={"digest": "ZZZZ"}, headers=reader()).status_code == 422


def test_tokens_are_never_stored(client, settings, engine):
    assert post(client, reports.make("line", ac="BRAS-9")).status_code == 201
    client.post("/v1/digests", json={"digest": reports.make("isp")["digest"], "ticket": "T-9"},
                headers=reader())
    client.get("/metrics", headers=reader())
    engine.dispose()
    database = Path(settings.db_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):
        data = path.read_bytes()
        assert WRITE_TOKEN.encode() not in data and READ_TOKEN.encode() not in data, path


def test_healthz_and_metrics(client, engine):
    assert client.get("/healthz").json() == {"status": "ok"}
    post(client, reports.make("line"))
    post(client, [])
    text = client.get("/metrics", headers=reader()).text
    assert 'diagnose_reports_received_total{kind="report",outcome="created"} 1.0' in text
    assert 'diagnose_reports_received_total{kind="report",outcome="invalid_report"} 1.0' in text
    assert "diagnose_open_outages 0.0" in text


def test_openapi_document_names_the_intake(client):
    assert client.get("/v1/openapi.json").status_code == 401
    paths = client.get("/v1/openapi.json", headers=reader()).json()["paths"]
    assert {"/v1/reports", "/v1/reports/{report_id}", "/v1/outages", "/v1/digests",
            "/healthz", "/metrics"} <= set(paths)


def test_retention_and_export(client, engine, tmp_path):
    import pyarrow.parquet as pq

    from diagnose.server.export import to_parquet
    now = datetime.datetime.now(datetime.timezone.utc)
    old = reports.make("line", at=now - datetime.timedelta(days=100), ac="BRAS-OLD")
    new = reports.make("user", at=now)
    for report in (old, new):
        assert post(client, report).status_code == 201
    target = tmp_path / "reports.parquet"
    assert to_parquet(engine, target) == 2
    rows = {row["id"]: row for row in pq.read_table(target).to_pylist()}
    assert set(rows) == {old["id"], new["id"]}
    assert json.loads(rows[new["id"]]["report"]) == new
    assert rows[old["id"]]["side"] == "line" and rows[new["id"]]["code"] == "U22"
    deleted = store.prune(engine, store.now() - datetime.timedelta(days=90))
    assert deleted == 1
    assert client.get(f"/v1/reports/{old['id']}", headers=reader()).status_code == 404
    assert client.get("/v1/reports", params={"locator": "ac:BRAS-OLD"}, headers=reader()).json() \
        == {"reports": []}


def test_the_fast_validator_agrees_with_the_reference():
    import copy

    import fastjsonschema

    from diagnose.server import intake
    fast, reference = intake._fast_check(), intake._validator()
    base = reports.make("line", ac="BRAS-1", installation="00000000-0000-4000-8000-000000000001")
    variants = [base, reports.make("none"), reports.make("user", code="U32")]

    def mutated(change):
        report = copy.deepcopy(base)
        change(report)
        return report
    for key in list(base):
        variants.append(mutated(lambda r, k=key: r.pop(k)))
        variants.append(mutated(lambda r, k=key: r.__setitem__(k, None)))
    for path, value in ((("verdict", "side"), "moon"), (("verdict", "ticket"), False),
                        (("verdict", "code"), "L11"), (("verdict", "advice"), []),
                        (("verdict", "extra"), 1), (("tool", "name"), "other"),
                        (("installation",), "not-a-uuid"), (("schema_version",), 2),
                        (("started_at",), "yesterday"), (("digest",), "1234"),
                        (("checks", 0, "status"), "fine"), (("checks", 0, "facts"), []),
                        (("findings", 0, "severity"), "bad"), (("checks", 0, "id"), "Route"),
                        (("duration_ms",), -1), (("privileged",), 1), (("lang",), "fr")):
        def change(report, path=path, value=value):
            node = report
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        variants.append(mutated(change))
    for report in variants:
        try:
            fast(report)
            fast_ok = True
        except fastjsonschema.JsonSchemaException:
            fast_ok = False
        assert fast_ok == reference.is_valid(report), report
