"""The report digest: a short code a subscriber without internet reads out on the phone.

It carries the verdict code, its confidence, the privileged flag and every check's status, so the
hotline engineer can decode the whole outcome on their machine: ``decode(encode(report))``.

Written in Crockford base32 (digits and letters without I, L, O, U), 5 bits a character, in
groups of 4: ``1G28-001A-G3`` (L23). The bits, most significant first:

    bits  field
    5     version (the whole first character, 1..31): fixes the check table, hence the length
    3     verdict side letter: index in "NUHALSX"
    3     verdict first digit minus 2 (digits are 2..9)
    3     verdict second digit minus 2
    2     confidence: high 0, medium 1, low 2
    1     privileged
    3     per check of the version's table, in CHECK_ORDER: ok 0, problem 1 (cited 1 from
          version 7), skipped 2, error 3, timeout 4, absent 5
    0..4  zero padding to a whole character
    5     check character

Version 1 (8 checks) is 10 characters, version 2 (14 checks) 13, versions 6 and 7 (18 checks)
16; at most 18 are allowed (66 bits: 16 characters).

A check's digit 1 meant "problem" (the check itself flagged what it saw) up to version 6. Checks
no longer judge: from version 7 (the same 18 checks as version 6) digit 1 means "cited": the check
observed (ok) and a finding's evidence names its facts (the report's checks[].cited_by). A cited
check that was skipped, failed or timed out keeps its own digit. Older digests read as they were.

The check table: each check declares its digest slot (CheckSpec.digest_slot, diagnose/checks).
The tables of versions 1 and 2 are frozen here as data, as they were read out; the newest table
is derived from the declarations. A check given the next free slot makes a new version (one per
added check: version 3 carries 15 checks, version 4 16, up to version 6 with 18), whose meaning is then fixed, because
slots are never changed or reused.

Check character: the symbols s_0..s_n (s_n the check) are the coefficients of a polynomial over
GF(32) = GF(2)[x]/(x^5+x^2+1) that must vanish at alpha = x: sum of s_i * alpha^(n-i) = 0.
Changing one symbol by e != 0 changes the sum by e * alpha^k != 0. Swapping a != b at distance
d changes it by (a+b) * alpha^k * (1 + alpha^d), non-zero for 0 < d < 31 since alpha has order 31.
So every single substitution and every transposition (adjacent or not) in 16 characters is caught.
A dropped or extra character changes the length, which the version fixes.
"""
from __future__ import annotations

import re
from typing import Any

from . import sides

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
READING_MISTAKES = {"O": "0", "I": "1", "L": "1"}
DASHES = "-\u2010\u2011\u2012\u2013\u2014"  # also the dashes word processors put in
GROUP = 4
SYMBOL_BITS = 5
MAX_LENGTH = 16  # characters, check character included, dashes not
MAX_CHECKS = 18  # 12 + 3 * 18 = 66 bits: 14 payload characters, 16 in all
POLY = 0b100101  # x^5 + x^2 + 1, primitive: alpha = x has order 31

SIDE_LETTERS = sides.LETTERS  # a side is its index: the table of sides is append-only
SIDE_NAMES = {side.letter: side.name for side in sides.ALL}
CODE_DIGITS = "23456789"
CODE = re.compile(sides.CODE_PATTERN)  # includes the fallback X99
CONFIDENCES = ("high", "medium", "low")
ABSENT = "absent"  # the check is in the table but not in the report
STATUSES = ("ok", "problem", "skipped", "error", "timeout", ABSENT)   # versions 1 to 6
CITED = "cited"  # observed, and a finding's evidence names its facts
CITED_SINCE = 7  # the first version whose digit 1 is CITED
CITED_STATUSES = ("ok", CITED, "skipped", "error", "timeout", ABSENT)
STATUS_BITS = 3
FIELDS = (("side", 3), ("digit1", 3), ("digit2", 3), ("confidence", 2), ("privileged", 1))

# The tables of released versions, as read out in the field: never change them.
FROZEN_TABLES = {
    1: ("route", "interfaces", "addressing", "gateway", "dns", "internet", "proxy", "pppoe"),
    2: ("route", "interfaces", "addressing", "gateway", "dns", "internet", "proxy", "pppoe",
        "router", "line_quality", "wifi", "path_mtu", "dns_hijack", "ipv6"),
}


def _declared_order() -> tuple[str, ...]:
    """Check ids by their declared digest slot (diagnose/checks: each CheckSpec.digest_slot)."""
    from .checks import ALL
    slotted = sorted((spec.digest_slot, spec.id) for spec in ALL if spec.digest_slot is not None)
    return tuple(check for _, check in slotted)


def _sizes(order: tuple[str, ...]) -> dict[int, int]:
    """Digest version -> how many leading entries of the order it carries: the frozen versions,
    then one more version per check added after the newest frozen one."""
    newest = max(FROZEN_TABLES)
    sizes = {version: len(table) for version, table in FROZEN_TABLES.items()}
    sizes.update({newest + n: len(FROZEN_TABLES[newest]) + n
                  for n in range(1, len(order) - len(FROZEN_TABLES[newest]) + 1)})
    if len(order) == MAX_CHECKS == sizes[CITED_SINCE - 1]:   # the table filled up at version 6
        sizes[CITED_SINCE] = MAX_CHECKS
    return sizes


# All checks the digest carries, in slot order; the frozen tables are prefixes of it (tested).
CHECK_ORDER = _declared_order()
# Digest version -> how many leading entries of CHECK_ORDER it carries. encode() uses the newest.
TABLE_SIZE = _sizes(CHECK_ORDER)

MISTYPED = "mistyped: check character does not match"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_VALUE.update({wrong: _VALUE[right] for wrong, right in READING_MISTAKES.items()})


class DigestError(ValueError):
    """A digest that cannot be written or read; the message says why, for a person."""


def encode(report: dict[str, Any], version: int | None = None) -> str:
    """The digest of a report (docs/report.schema.json), e.g. ``1G28-001A-G3``; in the newest
    version unless one is given.

    Checks in the report that are not in the version's table are ignored by the digest; checks
    in the table that the report lacks are encoded as "absent".
    """
    verdict = report["verdict"]
    code, confidence, privileged = verdict["code"], verdict["confidence"], report["privileged"]
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise DigestError(f"cannot encode verdict code {code!r}: expected e.g. L23")
    if confidence not in CONFIDENCES:
        raise DigestError(f"cannot encode confidence {confidence!r}")
    if not isinstance(privileged, bool):
        raise DigestError(f"cannot encode privileged {privileged!r}: expected true or false")
    version = max(TABLE_SIZE) if version is None else version
    if version not in TABLE_SIZE:
        raise DigestError(f"cannot encode digest version {version}")
    statuses = _statuses(version)
    reported: dict[str, str] = {}
    for check in report["checks"]:
        status = check["status"]
        if status == "ok" and check.get("cited_by") and CITED in statuses:
            status = CITED
        if status not in statuses or status == ABSENT:
            raise DigestError(f"cannot encode status {status!r} of check {check['id']!r} "
                              f"in a version {version} digest")
        reported.setdefault(check["id"], status)

    values = {"side": SIDE_LETTERS.index(code[0]), "digit1": CODE_DIGITS.index(code[1]),
              "digit2": CODE_DIGITS.index(code[2]), "confidence": CONFIDENCES.index(confidence),
              "privileged": int(privileged)}
    values.update({check: statuses.index(reported.get(check, ABSENT))
                   for check in _table(version)})
    number = 0
    for name, width in _layout(version):
        number = number << width | values[name]
    count = _length(version) - 2
    number <<= count * SYMBOL_BITS - _bits(version)  # padding
    symbols = [version] + [number >> (SYMBOL_BITS * i) & 31 for i in reversed(range(count))]
    symbols.append(_check_symbol(symbols))
    text = "".join(ALPHABET[s] for s in symbols)
    return "-".join(text[i:i + GROUP] for i in range(0, len(text), GROUP))


def decode(text: str) -> dict[str, Any]:
    """What a digest says: version, code, side, confidence, privileged, checks {id: status}.

    Accepts the usual reading mistakes: lower case, O for 0, I or L for 1, spaces, missing or
    extra dashes. Raises DigestError, and nothing else, for anything that is not a valid digest.
    """
    symbols = _symbols(text)
    if not symbols:
        raise DigestError("empty digest")
    version, known = symbols[0], symbols[0] in TABLE_SIZE
    if known and len(symbols) != _length(version):
        raise DigestError(f"wrong length: a version {version} digest has {_length(version)} "
                          f"characters, got {len(symbols)}")
    if len(symbols) > MAX_LENGTH:
        raise DigestError(f"wrong length: a digest has at most {MAX_LENGTH} characters, "
                          f"got {len(symbols)}")
    if _syndrome(symbols) != 0:
        raise DigestError(MISTYPED)
    if not known:
        raise DigestError(f"unknown digest version {version}: this diagnose reads up to version "
                          f"{max(TABLE_SIZE)}; a newer one may read it")

    number = 0
    for symbol in symbols[1:-1]:
        number = number << SYMBOL_BITS | symbol
    padding = (len(symbols) - 2) * SYMBOL_BITS - _bits(version)
    if number & ((1 << padding) - 1):
        raise DigestError("invalid digest: padding bits are not zero")
    number >>= padding
    values = {}
    for name, width in reversed(_layout(version)):
        values[name], number = number & ((1 << width) - 1), number >> width

    def pick(name: str, table: str | tuple[str, ...]) -> str:
        if values[name] >= len(table):
            raise DigestError(f"invalid digest: no {name} number {values[name]}")
        return table[values[name]]

    code = pick("side", SIDE_LETTERS) + pick("digit1", CODE_DIGITS) + pick("digit2", CODE_DIGITS)
    return {"version": version, "code": code, "side": SIDE_NAMES[code[0]],
            "confidence": pick("confidence", CONFIDENCES), "privileged": bool(values["privileged"]),
            "checks": {check: pick(check, _statuses(version)) for check in _table(version)}}


def canonical(decoded: dict[str, Any]) -> str:
    """The digest as diagnose writes it, from what decode() read (reading mistakes undone)."""
    report = {"verdict": {"code": decoded["code"], "confidence": decoded["confidence"]},
              "privileged": decoded["privileged"],
              "checks": [{"id": check, "status": "ok", "cited_by": ["?"]} if status == CITED
                         else {"id": check, "status": status}
                         for check, status in decoded["checks"].items() if status != ABSENT]}
    return encode(report, version=decoded["version"])


def _statuses(version: int) -> tuple[str, ...]:
    """What each value of a check's digit means in a version."""
    return CITED_STATUSES if version >= CITED_SINCE else STATUSES


def _table(version: int) -> tuple[str, ...]:
    """The checks a version carries, in order."""
    return FROZEN_TABLES.get(version) or CHECK_ORDER[:TABLE_SIZE[version]]


def _layout(version: int) -> tuple[tuple[str, int], ...]:
    """(field, bits) after the version character, most significant first."""
    return FIELDS + tuple((check, STATUS_BITS) for check in _table(version))


def _bits(version: int) -> int:
    return sum(width for _, width in _layout(version))


def _length(version: int) -> int:
    """Characters of a digest of this version: version, payload, check character."""
    return 1 + -(-_bits(version) // SYMBOL_BITS) + 1


def _symbols(text: str) -> list[int]:
    """The symbol values of a typed digest, forgiving reading mistakes and separators."""
    if not isinstance(text, str):
        raise DigestError("a digest is text")
    symbols = []
    for char in text:
        if char.isspace() or char in DASHES:
            continue
        value = _VALUE.get(char.upper() if char.isascii() else char)
        if value is None:
            raise DigestError(f"unknown character {char!r}: a digest has digits and letters, no U")
        symbols.append(value)
    return symbols


def _times_alpha(value: int) -> int:
    """value * alpha in GF(32)."""
    value <<= 1
    return value ^ POLY if value & 32 else value


def _syndrome(symbols: list[int]) -> int:
    """sum of s_i * alpha^(n-i) over GF(32) (Horner); zero for a valid digest."""
    total = 0
    for symbol in symbols:
        total = _times_alpha(total) ^ symbol
    return total


def _check_symbol(symbols: list[int]) -> int:
    """The symbol c that makes _syndrome(symbols + [c]) zero."""
    return _times_alpha(_syndrome(symbols))
