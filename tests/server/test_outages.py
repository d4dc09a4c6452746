"""Outages from synthetic report streams: a real outage, a coincidence of two, one subscriber
reporting ten times; closing, expiry, late reports; and the same through the store."""
from __future__ import annotations

import datetime
import random
import uuid

from sqlalchemy import select

from diagnose.server import outages, store
from diagnose.server.config import OutageRule
from diagnose.server.db import make_engine, migrate

from . import reports

T0 = datetime.datetime(2026, 12, 1, 8, 0)
RULE = OutageRule()


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


def event(minutes: float, who: str, side: str = "line") -> outages.Event:
    return outages.Event(at=at(minutes), subscriber=who, side=side)


def test_a_real_outage_opens_at_the_first_report_and_closes_when_healthy_again():
    stream = [event(0, "a"), event(4, "b"), event(9, "c"), event(12, "d", "isp"), event(14, "a"),
              event(90, "b", "none"), event(95, "e")]
    found = outages.episodes("ac:BRAS-1", stream, RULE)
    assert len(found) == 1
    outage = found[0]
    assert (outage.opened_at, outage.closed_at) == (at(0), at(90))
    assert outage.subscribers == {"a", "b", "c", "d"} and outage.reports == 5
    assert outage.sides == {"line", "isp"}


def test_a_coincidence_of_two_is_no_outage():
    assert outages.episodes("ac:BRAS-1", [event(0, "a"), event(3, "b")], RULE) == []


def test_reports_further_apart_than_the_window_are_no_outage():
    stream = [event(0, "a"), event(31, "b"), event(62, "c")]
    assert outages.episodes("ac:BRAS-1", stream, RULE) == []
    assert len(outages.episodes("ac:BRAS-1", stream, OutageRule(
        window=datetime.timedelta(minutes=62)))) == 1


def test_one_subscriber_reporting_ten_times_is_no_outage():
    stream = [event(minute, "same") for minute in range(10)]
    assert outages.episodes("ac:BRAS-1", stream, RULE) == []
    stream += [event(11, "other")]
    assert outages.episodes("ac:BRAS-1", stream, RULE) == []


def test_other_sides_say_nothing_and_order_does_not_matter():
    stream = [event(5, "c"), event(1, "x", "user"), event(0, "a"), event(2, "y", "home"),
              event(3, "b")]
    found = outages.episodes("ac:BRAS-1", stream, RULE)
    assert len(found) == 1 and found[0].opened_at == at(0) and found[0].subscribers == {"a", "b", "c"}


def test_a_healthy_report_before_the_outage_closes_nothing_and_thresholds_are_settings():
    stream = [event(0, "h", "none"), event(1, "a"), event(2, "b"), event(3, "c"),
              event(10, "h", "none"), event(11, "a", "none")]
    found = outages.episodes("ac:BRAS-1", stream, OutageRule(healthy_to_close=2))
    assert found[0].closed_at == at(11)
    assert outages.episodes("ac:BRAS-1", stream[:3], OutageRule(min_subscribers=2))[0].opened_at \
        == at(1)


def test_after_closing_a_new_outage_needs_the_threshold_again():
    stream = [event(0, "a"), event(1, "b"), event(2, "c"), event(10, "z", "none"),
              event(20, "a"), event(21, "b"), event(300, "a"), event(301, "b"), event(302, "d")]
    found = outages.episodes("ac:BRAS-1", stream, RULE)
    assert [(o.opened_at, o.closed_at) for o in found] == [(at(0), at(10)), (at(300), None)]


def test_expiry_is_applied_when_shown():
    rule = OutageRule(expire_after=datetime.timedelta(hours=1))
    closed, how = outages.effective_close(None, at(0), at(61), rule)
    assert (closed, how) == (at(60), "expired")
    assert outages.effective_close(None, at(0), at(59), rule) == (None, None)
    assert outages.effective_close(at(5), at(0), at(600), rule) == (at(5), "healthy")


def test_the_store_keeps_outages_up_to_date_with_late_reports(engine):
    now = store.now().replace(tzinfo=datetime.timezone.utc)
    minutes = datetime.timedelta(minutes=1)

    def send(side: str, who: str, minute: int, ac: str = "BRAS-9"):
        report = reports.make(side, ac=ac, installation=who, at=now - 60 * minutes + minute * minutes)
        assert store.ingest(engine, report, RULE) == store.CREATED

    ids = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(6)]
    send("line", ids[0], 0)
    send("line", ids[1], 5)
    send("line", ids[1], 6)
    assert store.list_outages(engine, RULE) == []
    send("line", ids[2], 40, ac="BRAS-OTHER")
    assert store.list_outages(engine, RULE) == []
    send("line", ids[3], 20)                 # a third subscriber within 30 minutes of the second
    [outage] = store.list_outages(engine, RULE)
    assert outage["locator"] == "ac:BRAS-9" and outage["subscribers"] == 3
    assert outage["closed_at"] is None
    send("none", ids[4], 50)                 # healthy again
    [outage] = store.list_outages(engine, RULE)
    assert outage["closed_at"] is not None and outage["closed_by"] == "healthy"
    send("line", ids[5], 10)                 # arrives late (submit --pending): it still counts
    [outage] = store.list_outages(engine, RULE)
    assert outage["subscribers"] == 4 and outage["opened_at"] < outage["closed_at"]
    assert store.list_outages(engine, RULE, open_only=True) == []


def test_locators_from_a_reports_facts():
    from diagnose.server.locators import locators, normalize
    report = reports.make("line", ac="BRAS  7", resolver="202.96.128.86", cgnat="100.64.12.77",
                          area="haidian-3")
    from diagnose.server.intake import check_report
    assert check_report(report) is report       # area and installation are in the schema
    assert locators(report) == ["ac:BRAS 7", "resolver:202.96.128.86", "upstream:100.64.12.0/24",
                                "area:haidian-3"]
    private = reports.make("line", resolver="192.168.1.1", cgnat=None)
    assert locators(private) == []
    redacted = reports.make("isp", resolver="<public-ip-1>")
    assert locators(redacted) == []
    assert normalize("AREA:  Haidian   3 ") == "area:Haidian 3"
    assert normalize("street:5") is None and normalize("ac:") is None


def test_reports_stored_in_any_order_and_batches_give_the_outages_of_them_all(db_url):
    """The writer derives outages from the reports of each batch (store._recompute): whatever
    the order and batching, that is what the rule says about all the reports at once."""
    engine = make_engine(db_url)
    migrate(engine)
    rng = random.Random(13)
    now = datetime.datetime.now(datetime.timezone.utc)
    people = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)]
    rows = [store.prepare(reports.make(rng.choice(["line", "line", "isp", "none", "user"]),
                                       ac=rng.choice(["BRAS-1", "BRAS-2", "BRAS-3"]),
                                       installation=rng.choice(people),
                                       at=now - datetime.timedelta(minutes=rng.uniform(0, 300))))
            for _ in range(150)]
    expected = []
    for locator in sorted({locator for row in rows for locator in row["found"]}):
        expected += [(o.locator, o.opened_at, o.closed_at, o.last_fault_at, len(o.subscribers),
                      o.reports, ",".join(sorted(o.sides)))
                     for o in outages.episodes(locator, [
                         outages.Event(row["observed_at"], row["subscriber"], row["side"])
                         for row in rows if locator in row["found"]
                         and row["side"] in store.OUTAGE_SIDES], RULE)]
    assert len(expected) >= 3   # the stream makes outages, and closes some
    rng.shuffle(rows)
    while rows:
        size = rng.randint(1, 20)
        store.ingest_many(engine, rows[:size], RULE)
        rows = rows[size:]
    table = store.outages
    with engine.connect() as connection:
        stored = [tuple(row) for row in connection.execute(select(
            table.c.locator, table.c.opened_at, table.c.closed_at, table.c.last_fault_at,
            table.c.subscribers, table.c.reports, table.c.sides))]
    engine.dispose()
    assert sorted(stored) == sorted(expected, key=lambda o: (o[0], o[1]))
