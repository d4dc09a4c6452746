"""What arrives over the network, checked before anything is stored: JSON, depth, schema, digest.

Every refusal is an ``IntakeError`` carrying the HTTP status, a stable error code and a short
English detail for the client (``diagnose submit`` shows the first 200 characters).
"""
from __future__ import annotations

import datetime
import functools
import json
import uuid
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
import orjson

from .. import digest as digests
from . import locators as locator_rules

PHONE_NAMESPACE = uuid.UUID("6f0d3b9e-5d51-4a1c-9a52-1b7f3f3f6a10")   # ids of phone reports
MAX_TICKET = 64
CLOCK_SKEW = datetime.timedelta(minutes=5)   # a report "from the future" is dated on receipt


class IntakeError(Exception):
    def __init__(self, status: int, code: str, detail: str, path: str | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail,
                **({"path": self.path} if self.path is not None else {})}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The published report schema, as shipped in the package (diagnose/report.schema.json)."""
    return json.loads(resources.files("diagnose").joinpath("report.schema.json").read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    """The reference validator: names the path of what is wrong."""
    return jsonschema.Draft202012Validator(schema())


@functools.lru_cache(maxsize=1)
def _fast_check():
    """The same schema compiled to Python code (about 20 times faster): decides valid or not.

    The schema uses no keyword that differs between draft 2020-12 and draft-07 (its $defs are
    reached by JSON pointer), so fastjsonschema compiles it as draft-07; a test checks that both
    validators agree on valid and broken reports.
    """
    return fastjsonschema.compile({**schema(), "$schema": "http://json-schema.org/draft-07/schema#"})


def warm_up() -> None:
    """Compile the validators before the first report (the server does it at start)."""
    _validator()
    _fast_check()


def parse_json(body: bytes, max_depth: int) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError(400, "bad_encoding", "the body is not UTF-8") from None
    try:   # orjson: strict JSON (no NaN, no lone surrogate, no overflow to infinity), nests <= 1024
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _refusal(text, exc, max_depth) from None
    if _LONG_DIGITS in body.translate(_DIGITS):   # orjson reads an integer past 64 bits as
        try:                                         # a float: read such a body exactly
            document = json.loads(text)
        except RecursionError:
            raise IntakeError(400, "too_deep",
                              f"the JSON is nested deeper than {max_depth}") from None
    if _too_deep(document, max_depth):
        raise IntakeError(400, "too_deep", f"the JSON is nested deeper than {max_depth}")
    return document


# 19 digits in a row: perhaps an integer beyond 64 bits (found in a copy where every digit is "0"
# and every other byte a space: a twentieth of the time of a regular expression)
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19


def _refusal(text: str, exc: ValueError, max_depth: int) -> IntakeError:
    """Why orjson refused a body: too deep (the stdlib parser runs out of recursion on it) or
    malformed (where orjson stopped)."""
    try:
        json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return IntakeError(400, "too_deep", f"the JSON is nested deeper than {max_depth}")
    except ValueError:
        pass
    where = f" at line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else ""
    return IntakeError(400, "malformed_json", f"the body is not valid JSON{where}")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _too_deep(document: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than max_depth (iterative: no recursion)."""
    level = [document] if isinstance(document, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list))]
    return False


def check_report(report: Any) -> dict[str, Any]:
    """A valid report (schema, and a digest that says the same as the verdict), else 422."""
    if not isinstance(report, dict):
        raise IntakeError(422, "invalid_report", "a report is a JSON object", "$")
    try:
        _fast_check()(report)
        errors = []
    except fastjsonschema.JsonSchemaException:
        errors = list(_validator().iter_errors(report)) or [None]
    if errors == [None]:   # the validators disagree: refuse, say so
        raise IntakeError(422, "invalid_report", "not valid against the report schema", "$")
    if errors:
        # A wrong value also breaks the conditions that depend on it (if/then): name the value.
        direct = [e for e in errors if not {"then", "else"} & set(map(str, e.absolute_schema_path))]
        error = jsonschema.exceptions.best_match(direct or errors)
        raise IntakeError(422, "invalid_report", _short(error.message), error.json_path)
    try:
        decoded = digests.decode(report["digest"])
    except digests.DigestError as exc:
        raise IntakeError(422, "invalid_report", f"digest: {exc}", "$.digest") from None
    if decoded["code"] != report["verdict"]["code"]:
        raise IntakeError(422, "invalid_report", "the digest's code is not the verdict's code",
                          "$.digest")
    return report


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[:limit - 1] + "…"


def observed_at(report: dict[str, Any], received: datetime.datetime) -> datetime.datetime:
    """When diagnose ran (naive UTC); a clock far ahead of ours counts as the time of receipt."""
    started = datetime.datetime.fromisoformat(report["started_at"].replace("Z", "+00:00"))
    started = started.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return received if started > received + CLOCK_SKEW else started


def phone_report(payload: Any, received: datetime.datetime) -> dict[str, Any]:
    """The stored form of a digest read out on the phone: {digest, ticket, locator?} -> record."""
    if not isinstance(payload, dict):
        raise IntakeError(422, "invalid_digest", "expected {\"digest\": ..., \"ticket\": ...}", "$")
    unknown = set(payload) - {"digest", "ticket", "locator"}
    if unknown:
        raise IntakeError(422, "invalid_digest", f"unknown field {sorted(unknown)[0]!r}",
                          f"$.{sorted(unknown)[0]}")
    ticket = payload.get("ticket")
    if not isinstance(ticket, str) or not ticket.strip() or len(ticket.strip()) > MAX_TICKET \
            or not ticket.strip().isprintable():
        raise IntakeError(422, "invalid_digest",
                          f"ticket: the ticket number (1 to {MAX_TICKET} printable characters)",
                          "$.ticket")
    ticket = ticket.strip()
    text = payload.get("digest")
    try:
        decoded = digests.decode(text)
    except digests.DigestError as exc:
        raise IntakeError(422, "invalid_digest", f"digest: {exc}", "$.digest") from None
    locator = None
    if payload.get("locator") is not None:
        locator = locator_rules.normalize(payload["locator"]) if isinstance(payload["locator"], str) else None
        if locator is None:
            raise IntakeError(422, "invalid_digest", "locator: expected KIND:VALUE, KIND one of "
                              + ", ".join(locator_rules.KINDS), "$.locator")
    canonical = canonical_digest(decoded)
    return {
        "kind": "phone",
        "id": str(uuid.uuid5(PHONE_NAMESPACE, f"{ticket}\n{canonical}")),
        "ticket": ticket,
        "digest": canonical,
        "decoded": decoded,
        "locator": locator,
        "entered_at": received.isoformat(timespec="seconds") + "Z",
    }


def canonical_digest(decoded: dict[str, Any]) -> str:
    """The digest as diagnose writes it, from what decode() read (typing mistakes undone)."""
    return digests.canonical(decoded)


def find_digest(text: str) -> str | None:
    """A typed digest in its canonical form, or None when it is not a valid digest."""
    try:
        return canonical_digest(digests.decode(text))
    except digests.DigestError:
        return None


def locators_of(report: dict[str, Any]) -> list[str]:
    if report.get("kind") == "phone":
        return [report["locator"]] if report.get("locator") else []
    return locator_rules.locators(report)
