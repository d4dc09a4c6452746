"""The `diagnose` command line. Heavy modules (click too) are imported only when needed, so the
process guards its signals and streams from its first moments."""
from __future__ import annotations

from . import interrupts

interrupts.install_if_entry()   # first: a Ctrl-C while the rest loads is a stop, not a traceback

import errno  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from gettext import gettext as _  # noqa: E402

from . import __version__, output  # noqa: E402
from .errors import ConfigError, DataDirError, OutputRefused, UsageError  # noqa: E402
from .exit_codes import ExitCode, for_side, for_signal  # noqa: E402
from .i18n import LANGS, N_, activate, from_locale  # noqa: E402

# A phone call: long enough for slow resolvers, short enough that nobody hangs up waiting.
DEFAULT_TIMEOUT_S = 10.0


def _stderr(message: str) -> None:
    output.say(message)


def _finite(ctx, param, value):
    if value is not None and not math.isfinite(value):
        import click
        raise click.BadParameter(_("must be a finite number of seconds"), ctx=ctx, param=param)
    return value


def _pppoe_login_consent() -> dict:
    """Warn before the test login; on a terminal, ask for the password (never echoed)."""
    _stderr(_("Warning: the PPPoE test login opens a second session with your broadband account; "
              "the operator may refuse it while another device (such as the router) is online "
              "with the same account. The test session is closed again at once."))
    if not sys.stdin.isatty():
        return {}
    import click
    question = (_("PPPoE password (Enter: use the one saved with the broadband connection)")
                if sys.platform == "win32" else
                _("PPPoE password (Enter: use the dialer's secrets files)"))
    password = click.prompt(question, default="", hide_input=True, show_default=False, err=True)
    return {"pppoe_password": password} if password else {}


def build_app():
    """The click app, built after the language is chosen so its help is in that language."""
    import click

    from .render import help as helptext    # click's help by display width, ranges in words
    seconds = helptext.FloatRange(min=0.5, max=300)
    seconds.name = _("number")  # shown in "'x' is not a valid number."

    @click.group(cls=helptext.Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]},
                 options_metavar=_("[OPTIONS]"), subcommand_metavar=_("COMMAND [ARGS]..."),
                 help=_("Find out why the broadband connection does not work, and whose side the "
                        "fault is on.\n\nExit status: 0 no fault, 3 fault you can fix at home, "
                        "4 fault outside the home (account, line, operator), 5 inconclusive, "
                        "2 usage, 78 bad profile or rule file, 130 interrupted, 1 internal error."))
    @click.option("--json", "as_json", is_flag=True, help=_("Print one JSON report on stdout."))
    @click.option("--lang", type=click.Choice(LANGS),
                  help=_("Language of the report [default: from the locale]."))
    @click.option("--profile", "profile_path", metavar=_("FILE"), help=_("Operator profile (YAML)."))
    @click.option("--rules", "rules_path", metavar=_("PATH"),
                  help=_("Use another rule pack (file or folder)."))
    @click.option("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S, callback=_finite,
                  metavar=_("SECONDS"),
                  show_default=True, help=_("Overall deadline in seconds."))
    @click.option("--pppoe-login", is_flag=True,
                  help=(_("Dial the broadband connection once with its saved password, then hang "
                          "up (a second session may be refused).") if sys.platform == "win32" else
                        _("As administrator, try a PPPoE login with the dialer's credentials "
                          "(a second session may be refused).")))
    @click.option("--only", metavar=_("CHECK[,CHECK]"),
                  help=_("Run only these checks (and the checks they need)."))
    @click.option("--skip", metavar=_("CHECK[,CHECK]"), help=_("Leave these checks out."))
    @click.option("-q", "--quiet", is_flag=True, help=_("Print the verdict line only."))
    @click.option("-v", "--verbose", is_flag=True, help=_("Print each check's facts too."))
    @click.option("-o", "--output", metavar=_("FILE"),
                  help=_("Write the report to FILE (whole or not at all) instead of the screen."))
    @click.option("--no-redact", is_flag=True,
                  help=_("Keep MAC and public addresses, names and user names in the report "
                         "(for an engineer at this machine)."))
    @click.option("--debug", is_flag=True, help=_("Show tracebacks of internal errors."))
    @click.version_option(__version__, prog_name="diagnose")
    @click.pass_context
    def app(ctx: click.Context, as_json: bool, lang: str | None, profile_path: str | None,
            rules_path: str | None, timeout: float, pppoe_login: bool, only: str | None,
            skip: str | None, quiet: bool, verbose: bool, output: str | None, no_redact: bool,
            debug: bool):
        ctx.obj = {"rules_path": rules_path, "lang": lang or from_locale(),
                   "profile_path": profile_path}
        if ctx.invoked_subcommand is not None:
            interrupts.raise_from_now_on()   # only a diagnosis writes a partial report
        else:
            from .diagnosis import Request, diagnose
            options = {"pppoe_login": pppoe_login}
            if pppoe_login:
                interrupts.raise_from_now_on()     # Ctrl-C at the password prompt stops now
                options.update(_pppoe_login_consent())
                interrupts.defer()
            return diagnose(Request(
                as_json=as_json, lang=lang, profile_path=profile_path, rules_path=rules_path,
                timeout=timeout, only=_names(only), skip=_names(skip), redact=not no_redact,
                detail="quiet" if quiet else "verbose" if verbose else "normal", output=output,
                options=options, started=_PROCESS_STARTED))
        return None

    @app.group(help=_("List, check and document the rule pack."), options_metavar=_("[OPTIONS]"),
               subcommand_metavar=_("COMMAND [ARGS]..."))
    def rules():
        pass

    @rules.command("list", help=_("One line per rule: code, side, severity, id, title."))
    @click.pass_obj
    def rules_list(obj):
        from .render import phone
        click.echo(phone.rule_list(_load_rules(obj["rules_path"]), obj["lang"]), nl=False)
        return ExitCode.NO_FAULT

    @rules.command("check", help=_("Validate a rule file or folder (default: the shipped pack). "
                                   "Exit 78 when broken."))
    @click.argument("path", required=False, metavar=_("PATH"))
    @click.pass_obj
    def rules_check(obj, path: str | None):
        loaded = _load_rules(path or obj["rules_path"])
        click.echo(_("{count} rules OK").format(count=len(loaded)))
        return ExitCode.NO_FAULT

    @rules.command("doc", help=_("Print the rule reference (Markdown) that docs/rules.md holds."))
    @click.pass_obj
    def rules_doc(obj):
        from .render import rule_reference
        click.echo(rule_reference.render(_load_rules(obj["rules_path"])), nl=False)
        return ExitCode.NO_FAULT

    @app.command(help=_("Explain a verdict code for hotline staff: meaning, how to confirm, "
                         "what to tell the subscriber, when to open a ticket."))
    @click.argument("code", metavar=_("CODE"))
    @click.pass_obj
    def explain(obj, code: str):
        from .render import phone
        wanted = code.strip().upper()
        rule = next((r for r in _load_rules(obj["rules_path"]) if r.code == wanted), None)
        if rule is None:
            raise click.UsageError(_("unknown code {code}; see: diagnose rules list").format(code=code))
        from .render.screen import columns_of
        click.echo(phone.explain(rule, obj["lang"], columns_of(sys.stdout)), nl=False)
        return ExitCode.NO_FAULT

    @app.command("facts", help=_("Write this computer's raw network facts (adapters, "
                                       "addresses, routes, DNS, proxy), redacted, to FILE "
                                       "(- for the screen), to send to the developers."))
    @click.argument("file", metavar=_("FILE"))
    @click.option("--no-redact", is_flag=True, help=_("Keep MAC and public addresses and names."))
    def dump_facts(file: str, no_redact: bool):
        from .platform import dump
        dump.write(file, redact=not no_redact)
        return ExitCode.NO_FAULT

    @app.command(help=_("Turn a digest read out by a subscriber back into the diagnosis."))
    @click.argument("digest", nargs=-1, required=True, metavar=_("DIGEST..."))
    @click.pass_obj
    def decode(obj, digest: tuple[str, ...]):
        from . import digest as digests
        from .render import phone
        try:
            summary = digests.decode(" ".join(digest))
        except digests.DigestError as exc:
            message = (_("the digest is mistyped (its check character does not match): "
                         "ask the subscriber to read it again") if str(exc) == digests.MISTYPED
                       else _("not a valid digest: {detail}").format(detail=exc))
            raise click.UsageError(message) from None
        rule = next((r for r in _load_rules(obj["rules_path"]) if r.code == summary["code"]), None)
        from .render.screen import columns_of
        click.echo(phone.decoded(summary, rule, obj["lang"], columns_of(sys.stdout)), nl=False)
        return ExitCode.NO_FAULT

    @app.command(help=_("Send a report to the operator's ticket system (default: the last one). "
                        "Without a network it is queued; --pending sends the queue."))
    @click.argument("report", required=False, metavar=_("REPORT"))
    @click.option("--pending", is_flag=True, help=_("Send every queued report."))
    @click.option("--no-redact", is_flag=True,
                  help=_("Send the report as it is, with full MAC addresses, public addresses and "
                         "names (only when the operator asks for the full report)."))
    @click.pass_obj
    def submit(obj, report: str | None, pending: bool, no_redact: bool):
        from . import profile as profiles
        from . import submit as tickets
        from .engine import pack
        from .datadir import data_dir
        from .diagnosis import LAST_REPORT
        from .exit_codes import for_submission
        from .render.tickets import submitted
        profile = profiles.load(obj["profile_path"])
        folder = _usable_data_dir(data_dir)
        if pending:
            try:
                results = tickets.send_pending(profile=profile, data_dir=folder)
            except OSError as exc:   # the queue folder cannot be made or read
                raise DataDirError(folder / "queue", exc) from None
        else:
            path = report or str(folder / LAST_REPORT)
            keep = profiles.public_addresses(profile) + pack.addresses_named(
                _load_rules(obj["rules_path"]))   # public knowledge stays readable
            try:
                results = [tickets.submit(path, profile=profile, data_dir=folder,
                                          redact=not no_redact, keep=keep)]
            except tickets.ReportError:
                raise UsageError(N_("{path} is not a diagnose report; run diagnose first"),
                                 path=path) from None
            except OSError as exc:   # the queue folder works for writing but not for locking
                raise DataDirError(folder / "queue", exc) from None
        click.echo(submitted(results, tickets.MESSAGES, obj["lang"]), nl=False)
        return for_submission([(r.outcome, r.code) for r in results])

    @app.command(help=_("Past verdicts on this computer, so an intermittent fault shows."))
    @click.option("--days", type=helptext.IntRange(1, 365), default=7, show_default=True,
                  metavar=_("DAYS"),
                  help=_("How far back."))
    @click.pass_obj
    def history(obj, days: int):
        from . import history as past
        from .datadir import data_dir
        from .render.tickets import history as render
        folder = data_dir(create=False)   # none yet: no history, nothing to create
        try:
            entries = past.load(folder)
        except OSError as exc:
            raise DataDirError(folder, exc) from None
        summary = past.summarize(entries, days=days)
        click.echo(render(summary, days, obj["lang"]), nl=False)
        return ExitCode.NO_FAULT

    return app


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _load_rules(path: str | None):
    from .checks import PROVIDES
    from .engine import pack
    return pack.load(path, PROVIDES)


def _language(args: list[str]) -> str:
    """--lang if given (and valid), else the locale: needed before click parses anything."""
    for index, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else (
            args[index + 1] if arg == "--lang" and index + 1 < len(args) else None)
        if value in LANGS:
            return value
    return from_locale()


def _usable_data_dir(data_dir):
    try:
        return data_dir()
    except OSError as exc:
        raise DataDirError(data_dir(create=False), exc) from None


def main(argv: list[str] | None = None) -> int:
    """Every outcome becomes an exit code here, and only here.

    main() is the `diagnose` process: signals and standard streams are guarded from the start,
    and the process ends as soon as the product is out, so no thread a probe left behind (a
    server trickling bytes) outlives it. main(args) runs one command in this process and
    returns its exit code (tests)."""
    if argv is not None:
        return _run(argv)
    interrupts.install()
    output.guard_standard_streams()
    global _PROCESS_STARTED
    _PROCESS_STARTED = _process_start()
    _end_process(_run(sys.argv[1:]))


_PROCESS_STARTED: float | None = None   # time.monotonic() of the process start (main() only)


def _process_start() -> float:
    """When this process began (interpreter start-up included), on the time.monotonic() scale.
    Linux: its start in clock ticks since boot against the uptime (both 10 ms exact); elsewhere
    from now."""
    import time
    now = time.monotonic()
    if sys.platform != "linux":   # /proc is Linux's
        return now
    try:
        with open("/proc/uptime") as uptime, open("/proc/self/stat") as stat:
            up = float(uptime.read().split()[0])
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])   # field 22: starttime
        age = up - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - min(max(0.0, age), 5.0)


def _end_process(code: int):
    """Flush what is written, run the exit hooks (a PPPoE test session's PADT), then end now:
    threads still waiting on the network are not waited for."""
    import atexit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    atexit._run_exitfuncs()
    os._exit(int(code))


def _run(args: list[str]) -> int:
    import click
    debug = "--debug" in args
    activate(_language(args))
    try:
        code = build_app().main(args=args, prog_name="diagnose", standalone_mode=False)
        return _code_of(code)
    except click.exceptions.Exit as exc:      # --help, --version
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except OutputRefused as exc:
        _stderr(_("Error: {message}").format(message=exc.localized()))
        return ExitCode.OUTPUT_REFUSED
    except UsageError as exc:
        _stderr(_("Error: {message}").format(message=exc.localized()))
        return ExitCode.USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        _stderr(_("diagnose: interrupted"))
        return for_signal(interrupts.received)
    except ConfigError as exc:
        _stderr(_("diagnose: error: {error}").format(error=exc.localized()))
        return ExitCode.CONFIG
    except DataDirError as exc:
        _stderr(_("diagnose: error: {error}").format(error=exc.localized()))
        return ExitCode.DATA_DIR
    except OSError as exc:
        if not _is_stdout_failure(exc):
            return _internal_error(exc, debug)
        return _stdout_failed(exc.strerror or str(exc))
    except SystemExit as exc:      # click's own answer to a broken pipe: streams swapped, exit 1
        wrapped = getattr(sys.stdout, "wrapped", None)
        if wrapped is None:
            raise
        sys.stdout, sys.stderr = wrapped, getattr(sys.stderr, "wrapped", sys.stderr)
        return _stdout_failed(os.strerror(errno.EPIPE))
    except Exception as exc:
        return _internal_error(exc, debug)


def _stdout_failed(error: str) -> int:
    output.drop_stdout()
    _stderr(_("diagnose: could not write to standard output: {error}").format(error=error))
    return ExitCode.OUTPUT_FAILED


def _code_of(result) -> int:
    from .diagnosis import Outcome
    if isinstance(result, Outcome):
        if result.interrupted:
            return for_signal(result.signal)
        if result.output_failed:
            return ExitCode.OUTPUT_FAILED
        return for_side(result.side)
    return int(result) if result is not None else ExitCode.NO_FAULT


def _is_stdout_failure(exc: OSError) -> bool:
    """A broken pipe, or an error while writing to stdout (click.echo of a list, help or
    version into /dev/full): a frame on the way wrote to a stream on file descriptor 1."""
    if isinstance(exc, (BrokenPipeError, output.OutputError)):
        return True
    frame = exc.__traceback__
    while frame is not None:
        for name in ("file", "stream"):
            try:
                if frame.tb_frame.f_locals.get(name).fileno() == 1:
                    return True
            except (AttributeError, OSError, ValueError):
                pass
        frame = frame.tb_next
    return False


def _internal_error(exc: BaseException, debug: bool) -> int:
    if debug:
        import traceback
        output.say("".join(traceback.format_exception(exc)).rstrip())
    else:
        _stderr(_("diagnose: internal error: {error} (run with --debug for details)")
                .format(error=f"{type(exc).__name__}: {exc}"))
    return ExitCode.INTERNAL_ERROR
