"""One diagnosis: load settings, run the checks, judge, render. Returns the exit code."""
from __future__ import annotations

import datetime
import os
import sys
import time

from . import profile as profiles
from .checks import ALL
from .context import Context, has_raw_socket_privilege
from .engine import judge, pack
from .exit_codes import ExitCode, for_side
from .i18n import N_, STATUS_NAMES, check_name, from_locale, t
from .render import json_report, text
from .report import build
from .runner import Runner


def diagnose(*, as_json: bool, lang: str | None, profile_path: str | None,
             rules_path: str | None, timeout: float, options: dict | None = None) -> int:
    lang = lang or from_locale()
    profile = profiles.load(profile_path)          # bad input stops here, before any probe
    rules = pack.load(rules_path, {spec.id for spec in ALL})
    privileged = has_raw_socket_privilege()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()

    def make_context(deadline, results):
        return Context(profile=profile, privileged=privileged, deadline=deadline, results=results,
                       options=options or {})

    runner = Runner(ALL, make_context, timeout, on_finish=_progress(lang))
    interrupted = False
    try:
        results = runner.run()
    except KeyboardInterrupt:
        results, interrupted = runner.partial(N_("interrupted")), True
    findings, verdict = judge.judge(rules, results, privileged=privileged, lang=lang,
                                    isp=profile["isp"])
    report = build(specs=ALL, results=results, findings=findings, verdict=verdict, started=started,
                   duration_ms=int((time.monotonic() - clock) * 1000), privileged=privileged,
                   lang=lang, profile_name=profile["name"], interrupted=interrupted)
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sys.stdout.write(json_report.render(report) if as_json else text.render(report, colour=colour))
    sys.stdout.flush()
    return ExitCode.INTERRUPTED if interrupted else for_side(verdict.side)


def _progress(lang: str):
    """Each finished check on stderr, only when a person watches a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(check_id: str, result) -> None:
        sys.stderr.write(f"  {t(lang, STATUS_NAMES[result.status.value]):<8}{check_name(lang, check_id)}\n")
        sys.stderr.flush()
    return show
