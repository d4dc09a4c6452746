"""One diagnosis: load settings, run the checks, judge, build the report, hand it out."""
from __future__ import annotations

import datetime
import os
import sys
import time
from dataclasses import dataclass, field

from pathlib import Path

from . import history, interrupts, output
from . import profile as profiles
from .checks import ALL, PROVIDES
from .context import Context, has_raw_socket_privilege
from .datadir import atomic_write, data_dir
from .engine import judge, pack
from .errors import OutputRefused, UsageError
from .i18n import N_, from_locale, t
from .installation import installation_id
from .model import CheckResult, CheckSpec, Status
from .net import ppp_secrets
from .render import json_report, text
from .render.progress import Progress
from .render.screen import size_of
from .report import build
from .runner import Runner, order


LAST_REPORT = "last-report.json"   # in the data directory: what `diagnose submit` sends
LAST_INTERRUPTED = "last-interrupted-report.json"   # a partial report: never replaces the above


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
    output: str | None = None         # write the report here (whole or not at all) instead of stdout
    started: float | None = None      # time.monotonic() when the process started: the deadline
                                      # (timeout) counts from there; None: from now
    options: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """How a diagnosis ended, for the CLI to turn into an exit code."""
    side: str                          # the verdict's side
    interrupted: bool = False          # a stop signal (or Ctrl-C) ended the checks early
    signal: int | None = None          # that signal's number, when known
    output_failed: bool = False        # the product did not reach the file or stdout asked for


def select(specs: tuple[CheckSpec, ...], only, skip
           ) -> tuple[list[CheckSpec], dict[str, CheckResult]]:
    """(checks to run, results of the checks left out): --only brings the checks it needs along;
    a check that needs one left out is left out too, saying which it needed."""
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
    left_out = {spec.id: CheckResult(Status.SKIPPED, reason=N_("not selected"))
                for spec in specs if spec.id not in wanted}
    for spec in order(specs):   # a check's needs are decided before the check itself
        missing = [need for need in spec.needs if need not in wanted]
        if spec.id in wanted and missing:
            wanted.discard(spec.id)
            left_out[spec.id] = CheckResult(Status.SKIPPED, reason=N_("needs {checks}, left out"),
                                            reason_args={"checks": ", ".join(missing)})
    return [spec for spec in specs if spec.id in wanted], left_out


def diagnose(request: Request) -> Outcome:
    lang = request.lang or from_locale()
    destination = None
    if request.output:          # a file that cannot be written is refused before any probe
        try:
            destination = output.UserFile(request.output)
        except output.OutputError as exc:
            raise OutputRefused(N_("cannot write the report to {path}: {error}"),
                                path=request.output, error=exc.strerror or exc) from None
    profile = profiles.load(request.profile_path)    # bad input stops here, before any probe
    rules = pack.load(request.rules_path, PROVIDES)
    chosen, left_out = select(ALL, request.only, request.skip)
    accounts = ppp_secrets.dialer_accounts()    # redaction knows them whatever the checks do
    privileged = has_raw_socket_privilege()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()

    def make_context(deadline, results):
        return Context(profile=profile, privileged=privileged, deadline=deadline, results=results,
                       options=request.options)

    deadline = (request.started if request.started is not None else clock) + request.timeout
    # A dumb terminal cannot erase a line: no progress there.
    progress = Progress(lang, len(chosen),
                        enabled=request.detail != "quiet" and os.environ.get("TERM") != "dumb")
    runner = Runner(chosen, make_context, deadline - time.monotonic(), on_finish=progress)
    runner.results.update(left_out)
    interrupts.listen(runner.interrupt)
    try:
        results = runner.run()
    except KeyboardInterrupt:
        results = runner.partial(N_("interrupted"))
        runner.interrupted = True
    finally:
        interrupts.listen(None)     # from here on the report is complete: signals change nothing
        progress.close()
    findings, verdict = judge.judge(rules, results, privileged=privileged, lang=lang,
                                    isp=profile["isp"])
    report = build(specs=order(ALL), results=results, findings=findings, verdict=verdict,
                   started=started, duration_ms=int((time.monotonic() - clock) * 1000),
                   privileged=privileged, lang=lang, profile_name=profile["name"],
                   interrupted=runner.interrupted, installation=_installation(),
                   area=profile.get("area"))
    for_ticket = _redacted(report, profile, rules, results, request.options, accounts)
    kept = _keep(for_ticket, lang, deadline)
    shown = for_ticket if request.redact else report
    if request.as_json:
        product = json_report.render(shown, ascii_only=not request.output
                                     and not output.stdout_speaks_unicode())
    else:
        colour = not request.output and colour_wanted(sys.stdout, os.environ)
        columns, rows = (None, None) if request.output else size_of(sys.stdout)
        product = text.render(shown, colour=colour, detail=request.detail, columns=columns,
                              rows=rows)
    outcome = Outcome(side=verdict.side, interrupted=runner.interrupted,
                      signal=interrupts.received if runner.interrupted else None)
    outcome.output_failed = not _hand_out(product, destination, kept, lang)
    return outcome


def _installation() -> str | None:
    """This installation's random id; a report without it (unwritable data folder) is still whole."""
    try:
        return installation_id(data_dir())
    except OSError:
        return None


def colour_wanted(stream, env) -> bool:
    """Colour only on a terminal that shows it: not TERM=dumb, not NO_COLOR (set and not empty)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty() and env.get("TERM") != "dumb" and not env.get("NO_COLOR"))


def _hand_out(product: str, destination: output.UserFile | None, kept: Path | None,
              lang: str) -> bool:
    """The product to the -o file, else stdout; a file that fails falls back to stdout, so the
    report is never lost. True when it reached where it was asked to go."""
    if destination is not None:
        try:
            destination.write(product.encode("utf-8"))
            output.say(t(lang, "Report written to {path}", path=destination.path))
            return True
        except output.OutputError as exc:
            output.say(t(lang, "diagnose: could not write the report to {path}: {error}; "
                               "here it is instead:", path=destination.path,
                         error=exc.strerror or exc))
    try:
        output.write_stdout(product)
        return destination is None
    except output.OutputError as exc:
        message = t(lang, "diagnose: could not write the report to standard output: {error}",
                    error=exc.strerror or exc)
        if kept is not None:
            message += t(lang, "; it is kept in {path}", path=str(kept))
        output.say(message)
        return False


def _keep(report: dict, lang: str, deadline: float) -> Path | None:
    """The last report (for `diagnose submit`) and the history; a failure here costs no verdict.
    An interrupted report goes to the history marked so and never replaces the last complete one.
    Returns where the report was kept (None: nowhere)."""
    try:
        folder = data_dir()
        kept = folder / (LAST_INTERRUPTED if report.get("interrupted") else LAST_REPORT)
        atomic_write(kept, json_report.render(report).encode())
    except OSError as exc:
        output.say(t(lang, "warning: could not keep the report: {error}",
                     error=_os_error_text(exc)))
        return None
    try:
        history.record(report, folder, lock_wait=min(history.LOCK_WAIT_S,
                                                     max(0.1, deadline - time.monotonic())))
    except history.HistoryBusy:
        output.say(t(lang, "warning: the history is in use by another diagnose; "
                           "this run is not recorded in it"))
    except OSError as exc:
        output.say(t(lang, "warning: could not record the run in the history: {error}",
                     error=_os_error_text(exc)))
    return kept


def _os_error_text(exc: OSError) -> str:
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


def _redacted(report: dict, profile: dict, rules, results: dict, options: dict,
              accounts: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> dict:
    """What leaves the machine: no MAC beyond its vendor, no public address, no names, no secret.
    `accounts`: the dialers' account names and passwords, learned before the checks ran.

    Addresses the operator's profile and the rule texts name (public resolvers, e.g. in "set DNS
    to 223.5.5.5") are public knowledge, not the subscriber's, and stay readable."""
    from .redact import redact
    keep = profiles.public_addresses(profile) + pack.addresses_named(rules)
    seen = [result.sensitive for result in results.values()]
    typed = [options[key] for key in ("pppoe_password",) if options.get(key)]
    users, passwords = accounts
    return redact(report, secrets=typed + list(passwords)
                  + [v for s in seen for v in s.get("secrets", ())],
                  pppoe_users=list(users) + [v for s in seen for v in s.get("pppoe_users", ())],
                  keep=keep)
