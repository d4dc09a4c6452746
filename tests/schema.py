"""Validates reports against the published schema (diagnose/report.schema.json, linked from docs/)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "diagnose" / "report.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate(report: dict) -> dict:
    _VALIDATOR.validate(report)
    return report
