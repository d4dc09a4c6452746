"""Runs `diagnose ARGS` with stand-in checks (a broken line), for a terminal test.

    python -m tests.unit.screen_driver [ARGS...]
"""
from __future__ import annotations

import sys

from diagnose import diagnosis
from diagnose.cli import main
from diagnose.model import CheckResult, CheckSpec, Status

from .facts import HEALTHY

BROKEN_LINE = {"internet": {"online": False, "any_target_reachable": False},
               "dns": {"public_works": False}}


def stand_ins(changes):
    def make(check_id):
        facts = {**HEALTHY[check_id], **changes.get(check_id, {})}
        def run(ctx):
            return CheckResult(Status.OK, facts)
        return CheckSpec(check_id, "stand-in", run, needs=("route",) if check_id != "route" else ())
    return tuple(make(check_id) for check_id in HEALTHY)


if __name__ == "__main__":
    diagnosis.ALL = stand_ins(BROKEN_LINE)
    sys.exit(main(sys.argv[1:]))
