"""One diagnosis: load settings, run the checks, judge, build the report, hand it out."""
from __future__ import annotations

import datetime
import os
import re
import sys
import time
from dataclasses import dataclass, field

from pathlib import Path

from . import history
from . import profile as profiles
from .checks import ALL, PROVIDES
from .context import Context, has_raw_socket_privilege
from .datadir import atomic_write, data_dir
from .engine import judge, pack
from .errors import UsageError
from .exit_codes import ExitCode, for_side
from .i18n import N_, STATUS_NAMES, check_name, from_locale, t
from .installation import installation_id
from .model import CheckResult, CheckSpec, Status
from .render import json_report, text
from .report import build
from .runner import Runner, order


LAST_REPORT = "last-report.json"   # in the data directory: what `diagnose submit` sends


@dataclass
class Request:
    """What the command line asked for."""
    as_json: bool = False
    lang: str | None = None
    profile_path: str | None = None
    rules_path: str | None = None
    timeout: float = 10.0
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    detail: str = "normal"            # quiet: the verdict line; verbose: facts too
    redact: bool = True
    output: str | None = None         # write the report here (atomically) instead of stdout
    options: dict = field(default_factory=dict)


def select(specs: tuple[CheckSpec, ...], only, skip) -> tuple[list[CheckSpec], list[CheckSpec]]:
    """(checks to run, checks left out): --only brings the checks it needs along."""
    by_id = {spec.id: spec for spec in specs}
    unknown = sorted((set(only) | set(skip)) - set(by_id))
    if unknown:
        raise UsageError(N_("unknown check {names}; choose from: {known}"),
                         names=", ".join(unknown), known=", ".join(sorted(by_id)))
    wanted = set(by_id) if not only else set()
    stack = list(only)
    while stack:
        check_id = stack.pop()
        if check_id not in wanted:
            wanted.add(check_id)
            stack.extend(by_id[check_id].needs)
    wanted -= set(skip)
    return ([s for s in specs if s.id in wanted], [s for s in specs if s.id not in wanted])


def diagnose(request: Request) -> int:
    lang = request.lang or from_locale()
    profile = profiles.load(request.profile_path)    # bad input stops here, before any probe
    rules = pack.load(request.rules_path, PROVIDES)
    chosen, left_out = select(ALL, request.only, request.skip)
    privileged = has_raw_socket_privilege()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()

    def make_context(deadline, results):
        return Context(profile=profile, privileged=privileged, deadline=deadline, results=results,
                       options=request.options)

    runner = Runner(chosen, make_context, request.timeout, on_finish=_progress(lang))
    runner.results.update({s.id: CheckResult(Status.SKIPPED, reason=N_("not selected"))
                           for s in left_out})
    interrupted = False
    try:
        results = runner.run()
    except KeyboardInterrupt:
        results, interrupted = runner.partial(N_("interrupted")), True
    findings, verdict = judge.judge(rules, results, privileged=privileged, lang=lang,
                                    isp=profile["isp"])
    report = build(specs=order(ALL), results=results, findings=findings, verdict=verdict,
                   started=started, duration_ms=int((time.monotonic() - clock) * 1000),
                   privileged=privileged, lang=lang, profile_name=profile["name"],
                   interrupted=interrupted, installation=_installation(),
                   area=profile.get("area"))
    for_ticket = _redacted(report, profile, rules, results, request.options)  # may leave the machine
    _keep(for_ticket, lang)
    shown = for_ticket if request.redact else report
    if request.as_json:
        product = json_report.render(shown)
    else:
        colour = not request.output and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        product = text.render(shown, colour=colour, detail=request.detail)
    if request.output:
        atomic_write(Path(request.output), product.encode())
        sys.stderr.write(t(lang, "Report written to {path}", path=request.output) + "\n")
    else:
        sys.stdout.write(product)
        sys.stdout.flush()
    return ExitCode.INTERRUPTED if interrupted else for_side(verdict.side)


def _installation() -> str | None:
    """This installation's random id; a report without it (unwritable data folder) is still whole."""
    try:
        return installation_id(data_dir())
    except OSError:
        return None


def _keep(report: dict, lang: str) -> None:
    """The last report (for `diagnose submit`) and the history; a failure here costs no verdict."""
    try:
        folder = data_dir()
        atomic_write(folder / LAST_REPORT, json_report.render(report).encode())
        history.record(report, folder)
    except OSError as exc:
        sys.stderr.write(t(lang, "warning: could not keep the report: {error}",
                           error=exc.strerror or exc) + "\n")


def _redacted(report: dict, profile: dict, rules, results: dict, options: dict) -> dict:
    """What leaves the machine: no MAC beyond its vendor, no public address, no names, no secret.

    Addresses the operator's profile and the rule texts name (public resolvers, e.g. in "set DNS
    to 223.5.5.5") are public knowledge, not the subscriber's, and stay readable."""
    from .redact import redact
    probes = [profile["probes"], profiles.DEFAULT_PROFILE["probes"]]
    texts = " ".join(line for rule in rules for lang in rule.advice for line in rule.advice[lang])
    keep = [address for p in probes for address in (*p["public_resolvers"], *p["ping_targets"])]
    keep += re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", texts)
    seen = [result.sensitive for result in results.values()]
    typed = [options[key] for key in ("pppoe_password",) if options.get(key)]
    return redact(report, secrets=typed + [v for s in seen for v in s.get("secrets", ())],
                  pppoe_users=[v for s in seen for v in s.get("pppoe_users", ())], keep=keep)


def _progress(lang: str):
    """Each finished check on stderr, only when a person watches a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(check_id: str, result) -> None:
        sys.stderr.write(f"  {t(lang, STATUS_NAMES[result.status.value]):<8}{check_name(lang, check_id)}\n")
        sys.stderr.flush()
    return show
