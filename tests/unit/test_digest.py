"""The report digest: round trip, golden strings, error detection, reading mistakes."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from diagnose import digest
from diagnose.digest import ALPHABET, MISTYPED, DigestError, decode, encode
from diagnose.engine import judge, pack
from tests.properties import examples

REPORTED = ("ok", "skipped", "error", "timeout")   # a check's status: could it observe
# Checks still to come, up to the most a digest holds.
FUTURE = tuple(f"check{n}" for n in range(len(digest.CHECK_ORDER) + 1, digest.MAX_CHECKS + 1))


def make(code, confidence="high", privileged=False, checks=(), cited=()):
    """A report; the checks in `cited` are cited by a finding (checks[].cited_by)."""
    return {"privileged": privileged, "verdict": {"code": code, "confidence": confidence},
            "checks": [{"id": check, "status": status, "cited_by": ["H25"] if check in cited else []}
                       for check, status in checks]}


codes = st.builds(lambda side, d1, d2: side + d1 + d2, st.sampled_from("NUHALSX"),
                  st.sampled_from("23456789"), st.sampled_from("23456789"))
reports = st.builds(
    make, codes, st.sampled_from(["high", "medium", "low"]), st.booleans(),
    st.lists(st.tuples(st.sampled_from(digest.CHECK_ORDER + ("modem", "not_a_check")),
                       st.sampled_from(REPORTED)), unique_by=lambda c: c[0]),
    st.sets(st.sampled_from(digest.CHECK_ORDER + ("modem",))))


def expected(report):
    """What the newest version reads back: an observed check a finding cites reads "cited"."""
    statuses = {c["id"]: "cited" if c["status"] == "ok" and c.get("cited_by") else c["status"]
                for c in report["checks"]}
    code = report["verdict"]["code"]
    return {"version": max(digest.TABLE_SIZE), "code": code, "side": digest.SIDE_NAMES[code[0]],
            "confidence": report["verdict"]["confidence"], "privileged": report["privileged"],
            "checks": {c: statuses.get(c, "absent") for c in digest._table(max(digest.TABLE_SIZE))}}


# Version 1 digests, as read out before version 2 existed: they must keep their meaning.
GOLDEN_V1 = [
    (make("L23", "high", True, [(c, "ok") for c in ("route", "interfaces", "addressing", "gateway",
                                                    "dns")] + [("internet", "problem"),
                                                               ("proxy", "skipped")]),
     "1G28-001A-G3"),
    (make("X99", "low", False, [("route", "timeout"), ("dns", "error"), ("wifi", "ok")]),
     "1VZ4-PTXP-G0"),
    (make("N22", "medium", False, [(c, "ok") for c in digest.CHECK_ORDER]), "100G-0000-0B"),
]
GOLDEN = [
    (make("L52", "high", True, [(c, "ok") for c in digest.CHECK_ORDER[:8]]
          + [("line_quality", "problem"), ("wifi", "skipped"), ("ipv6", "skipped")]),
     "2HG8-0000-AAPM-3"),
    (make("N23", "high", False, [(c, "ok") for c in digest.CHECK_ORDER]), "2020-0000-0000-V"),
]


@settings(max_examples=examples(200))
@given(reports)
def test_round_trip(report):
    text = encode(report)
    assert decode(text) == expected(report)
    assert all(len(group) <= 4 for group in text.split("-"))
    assert set(text.replace("-", "")) <= set(ALPHABET)


def expected_v1(report, version=1):
    return dict(expected(report), version=version,
                checks={c: {x["id"]: x["status"] for x in report["checks"]}.get(c, "absent")
                        for c in digest._table(version)})


@pytest.mark.parametrize("report, text", GOLDEN_V1)
def test_golden_version_1(report, text):
    """A change here means old digests read differently: add a version instead."""
    assert encode(report, version=1) == text
    assert decode(text) == expected_v1(report)


@pytest.mark.parametrize("report, text", GOLDEN)
def test_golden(report, text):
    """A change here means old digests read differently: add a version instead."""
    assert encode(report, version=2) == text
    assert decode(text) == expected_v1(report, version=2)


# Version 6, the last whose digit 1 meant "problem" (pinned from the code that wrote them), and
# the same runs in version 7, where digit 1 means "cited" (the checks no longer judge).
ALL_OK = [(c, "ok") for c in digest.CHECK_ORDER]
GOLDEN_V6 = [
    (make("L23", "medium", True, [(c, "problem" if c in ("dns", "internet") else s)
                                  for c, s in ALL_OK]), "6G2R-0090-0000-0006"),
    (make("H25", "high", False, [(c, {"gateway": "problem", "pppoe": "skipped", "wifi": "skipped",
                                      "line_quality": "timeout", "ip_settings": "error"}.get(c, s))
                                 for c, s in ALL_OK]), "6860-0201-1200-01GJ"),
]
GOLDEN_V7 = [
    (make("L23", "medium", True, ALL_OK, cited={"dns", "gateway", "internet"}),
     "7G2R-0290-0000-000Y"),
    (make("H25", "high", False, [(c, {"pppoe": "skipped", "wifi": "skipped",
                                      "line_quality": "timeout", "ip_settings": "error"}.get(c, s))
                                 for c, s in ALL_OK], cited={"route", "gateway", "line_quality"}),
     "7861-0201-1200-01G3"),
]


@pytest.mark.parametrize("report, text", GOLDEN_V6)
def test_golden_version_6_reads_problem(report, text):
    """A change here means old digests read differently: add a version instead."""
    assert encode(report, version=6) == text
    assert decode(text) == expected_v1(report, version=6)
    assert "problem" in decode(text)["checks"].values()


@pytest.mark.parametrize("report, text", GOLDEN_V7)
def test_golden_version_7_reads_cited(report, text):
    """Digit 1 of a check is "cited" from version 7: observed, and a finding's evidence names its
    facts; a cited check that could not observe keeps its own status (line_quality above)."""
    assert encode(report, version=7) == text
    assert decode(text) == dict(expected(report), version=7)
    assert decode(text)["checks"]["line_quality"] == ("timeout" if report["verdict"]["code"] == "H25"
                                                      else "ok")
    assert "problem" not in decode(text)["checks"].values()


def test_version_6_and_7_differ_only_in_what_digit_1_means():
    old, new = (decode(GOLDEN_V6[0][1]), decode(GOLDEN_V7[0][1]))
    assert [c for c, s in old["checks"].items() if s == "problem"] == ["dns", "internet"]
    assert [c for c, s in new["checks"].items() if s == "cited"] == ["gateway", "dns", "internet"]
    assert {k: v for k, v in old.items() if k not in ("version", "checks")} == \
        {k: v for k, v in new.items() if k not in ("version", "checks")}


def test_the_newest_digest_cannot_carry_problem():
    with pytest.raises(DigestError, match="'problem'"):
        encode(make("L23", checks=[("dns", "problem")]))
    assert decode(encode(make("L23", checks=[("dns", "problem")]), version=6))["checks"]["dns"] \
        == "problem"


@pytest.mark.parametrize("text", [text for _, text in GOLDEN_V1 + GOLDEN + GOLDEN_V6 + GOLDEN_V7])
def test_canonical_writes_back_what_was_read(text):
    assert digest.canonical(decode(text.lower().replace("0", "O"))) == text


@settings(max_examples=examples(100))
@given(reports)
def test_canonical_round_trip(report):
    text = encode(report)
    assert digest.canonical(decode(text)) == text


def test_checks_outside_the_table_are_ignored():
    report = make("U27", checks=[("route", "ok"), ("modem", "timeout")], cited={"modem"})
    assert encode(report) == encode(make("U27", checks=[("route", "ok")]))


def test_fallback_and_all_rule_codes_encode():
    assert decode(encode(make(judge.FALLBACK_CODE)))["code"] == "X99"
    for code in ("".join(c) for c in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                      "0123456789", "0123456789")):
        assert bool(digest.CODE.fullmatch(code)) == bool(pack.CODE.match(code)), code


def test_side_names_match_the_rule_pack():
    assert {name: letter for letter, name in digest.SIDE_NAMES.items()} == pack.SIDE_LETTER
    assert set(digest.SIDE_LETTERS) == set(digest.SIDE_NAMES)


@pytest.mark.parametrize("report", [
    make("L11"), make("L23\n"), make("Z23"), make(None), make("L23", confidence="sure"),
    make("L23", privileged="yes"), make("L23", checks=[("route", "absent")]),
    make("L23", checks=[("route", "fine")]),
])
def test_encode_rejects_what_it_cannot_carry(report):
    with pytest.raises(DigestError):
        encode(report)


# Error detection ----------------------------------------------------------------------------

def test_check_character_detects_every_error_algebraically():
    """The syndrome is linear, so an error is caught on every digest iff its pattern alone has a
    non-zero syndrome. Exhaustive over every length up to 16: substitutions, and transpositions
    of any two positions (adjacent ones included)."""
    for length in range(2, digest.MAX_LENGTH + 1):
        for pos, e in itertools.product(range(length), range(1, 32)):
            pattern = [0] * length
            pattern[pos] = e
            assert digest._syndrome(pattern) != 0, (length, pos, e)
        for i, j in itertools.combinations(range(length), 2):
            for e in range(1, 32):  # swapping a != b adds a^b at both places
                pattern = [0] * length
                pattern[i] = pattern[j] = e
                assert digest._syndrome(pattern) != 0, (length, i, j, e)


@settings(max_examples=examples(40))
@given(reports)
def test_every_substitution_is_rejected(report):
    """Every substitution into sampled digests (the algebraic test above covers every error
    pattern at every length; this one runs the decoder itself on each)."""
    text = encode(report).replace("-", "")
    for pos, char in itertools.product(range(len(text)), ALPHABET):
        if char != text[pos]:
            with pytest.raises(DigestError) as caught:
                decode(text[:pos] + char + text[pos + 1:])
            assert pos == 0 or str(caught.value) == MISTYPED


@settings(max_examples=examples(200))
@given(reports)
def test_every_adjacent_transposition_is_rejected(report):
    text = encode(report)  # with dashes: a swap across a dash is a swap of the plain text too
    plain = text.replace("-", "")
    for pos in range(len(plain) - 1):
        if plain[pos] != plain[pos + 1]:
            swapped = plain[:pos] + plain[pos + 1] + plain[pos] + plain[pos + 2:]
            with pytest.raises(DigestError) as caught:
                decode(swapped)
            assert pos == 0 or str(caught.value) == MISTYPED


@settings(max_examples=examples(100))
@given(reports, st.data())
def test_dropped_or_extra_character_is_rejected(report, data):
    plain = encode(report).replace("-", "")
    pos = data.draw(st.integers(0, len(plain)))
    with pytest.raises(DigestError):
        decode(plain[:pos] + data.draw(st.sampled_from(ALPHABET)) + plain[pos:])
    with pytest.raises(DigestError):
        decode(plain[:min(pos, len(plain) - 1)] + plain[min(pos, len(plain) - 1) + 1:])


def test_error_messages():
    text = GOLDEN_V1[0][1]
    wrong = text[:-1] + ("0" if text[-1] != "0" else "1")
    with pytest.raises(DigestError, match="^mistyped: check character does not match$"):
        decode(wrong)
    with pytest.raises(DigestError, match="unknown character 'U'"):
        decode(text.replace("G", "U", 1))
    with pytest.raises(DigestError, match="unknown character '\\*'"):
        decode(text + "*")
    with pytest.raises(DigestError, match="version 1 digest has 10 characters, got 9"):
        decode(text[:-1])
    with pytest.raises(DigestError, match="empty"):
        decode(" - ")
    with pytest.raises(DigestError, match="at most 16"):
        decode("Z" * 17)
    future = [8] + [0] * 8
    with pytest.raises(DigestError, match="unknown digest version 8"):
        decode("".join(ALPHABET[s] for s in future + [digest._check_symbol(future)]))
    bad_status = [1] + [31] * 8  # valid check character, but side 7 / status 7 mean nothing
    with pytest.raises(DigestError, match="invalid digest"):
        decode("".join(ALPHABET[s] for s in bad_status + [digest._check_symbol(bad_status)]))
    with pytest.raises(DigestError):
        decode(None)


@settings(max_examples=examples(300))
@given(st.one_of(st.text(), st.text(alphabet=ALPHABET + "OILoilu -*\n\u2013"),
                 st.lists(st.integers(0, 31), max_size=18).map(
                     lambda s: "".join(ALPHABET[v] for v in s + [digest._check_symbol(s)]))))
def test_any_text_decodes_or_raises_digest_error(text):
    try:
        result = decode(text)
    except DigestError as error:
        assert str(error)
    else:
        assert set(result) == {"version", "code", "side", "confidence", "privileged", "checks"}


# Reading mistakes ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1g28001ag3", "IG28-OOIA-G3", "lG28 00lA G3", "1G-28-0-01AG3-",
                                   " 1g28\u2013O01a\u2013g3 ", "1G2800IAG3"])
def test_reading_mistakes_are_accepted(typed):
    assert decode(typed) == decode(GOLDEN_V1[0][1])


@settings(max_examples=examples(100))
@given(reports, st.data())
def test_reading_mistakes_never_change_the_meaning(report, data):
    text = encode(report)
    misread = {"0": "0Oo", "1": "1IiLl"}
    typed = ""
    for char in text.replace("-", ""):
        char = data.draw(st.sampled_from(misread.get(char, char + char.lower())))
        typed += char + data.draw(st.sampled_from(["", "", " ", "-", "--", " - "]))
    assert decode(typed) == decode(text)


# Versions and growth ------------------------------------------------------------------------

def test_table_is_append_only_and_fits():
    versions = sorted(digest.TABLE_SIZE)
    assert versions == list(range(1, len(versions) + 1))
    sizes = [digest.TABLE_SIZE[v] for v in versions]
    assert sizes == sorted(sizes) and sizes[-1] == len(digest.CHECK_ORDER) <= digest.MAX_CHECKS
    assert len(set(digest.CHECK_ORDER)) == len(digest.CHECK_ORDER)
    assert digest.FROZEN_TABLES[1] == ("route", "interfaces", "addressing", "gateway", "dns",
                                       "internet", "proxy", "pppoe")  # version 1: frozen
    for version, table in digest.FROZEN_TABLES.items():
        assert digest._table(version) == table
        assert digest.CHECK_ORDER[:len(table)] == table, \
            "a check's digest slot changed: slots are never changed or reused"
    assert all(digest._length(v) <= digest.MAX_LENGTH for v in versions)


def test_the_newest_table_is_derived_from_the_checks_declarations():
    from diagnose.checks import ALL
    slotted = sorted((spec.digest_slot, spec.id) for spec in ALL if spec.digest_slot is not None)
    assert digest.CHECK_ORDER == tuple(check for _, check in slotted)
    assert digest._sizes(digest.CHECK_ORDER + FUTURE) == {
        version: 14 + version - 2 for version in range(3, digest.MAX_CHECKS - 14 + 3)} | {
        1: 8, 2: 14, digest.CITED_SINCE: digest.MAX_CHECKS}   # version 7: full, digit 1 cited


@settings(max_examples=examples(60))
@given(reports, st.lists(st.sampled_from(REPORTED), min_size=len(FUTURE), max_size=len(FUTURE)))
def test_the_most_checks_fit_and_old_digests_keep_their_meaning(report, future_statuses):
    old = ([(r, encode(r, version=1)) for r, _ in GOLDEN_V1]
           + [(r, encode(r, version=2)) for r, _ in GOLDEN] + [(report, encode(report))])
    meanings = [decode(text) for _, text in old]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(digest, "CHECK_ORDER", digest.CHECK_ORDER + FUTURE)
        future_version = max(digest.TABLE_SIZE) + 1
        patch.setattr(digest, "TABLE_SIZE", {**digest.TABLE_SIZE, future_version: digest.MAX_CHECKS})
        assert len(digest.CHECK_ORDER) == digest.MAX_CHECKS
        assert [decode(text) for _, text in old] == meanings  # old digests read as before
        report = dict(report, checks=report["checks"] + [
            {"id": c, "status": s} for c, s in zip(FUTURE, future_statuses)])
        text = encode(report)
        assert text[0] == str(future_version)
        assert len(text.replace("-", "")) <= digest.MAX_LENGTH
        assert decode(text) == expected(report)


def test_every_check_is_in_the_newest_table_while_there_is_room():
    """A new check takes the next digest slot (a new version), or digests miss it; once the
    digest holds MAX_CHECKS, a later check declares no slot and is in the report only."""
    from diagnose.checks import ALL
    slotted = {spec.id for spec in ALL if spec.digest_slot is not None}
    assert set(digest._table(max(digest.TABLE_SIZE))) == slotted
    if len(slotted) < digest.MAX_CHECKS:
        assert slotted == {spec.id for spec in ALL}, "give the new check the next digest slot"
