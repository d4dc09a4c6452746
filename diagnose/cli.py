"""The `diagnose` command line. Heavy modules are imported only when a diagnosis runs."""
from __future__ import annotations

import os
import sys
import traceback

import click

from . import __version__
from .errors import ConfigError
from .exit_codes import ExitCode
from .i18n import LANGS

# A phone call: long enough for slow resolvers, short enough that nobody hangs up waiting.
DEFAULT_TIMEOUT_S = 10.0


def _stderr(message: str) -> None:
    click.echo(message, err=True)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout.")
@click.option("--lang", type=click.Choice(LANGS), help="Language of the report [default: from the locale].")
@click.option("--profile", "profile_path", metavar="FILE", help="Operator profile (YAML).")
@click.option("--rules", "rules_path", metavar="PATH", help="Use another rule pack (file or folder).")
@click.option("--timeout", type=click.FloatRange(min=0.5, max=300), default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Overall deadline in seconds.")
@click.option("--pppoe-login", is_flag=True,
              help="As administrator, try a PPPoE login with the dialer's credentials (a second session may be refused).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="diagnose")
@click.pass_context
def app(ctx: click.Context, as_json: bool, lang: str | None, profile_path: str | None,
        rules_path: str | None, timeout: float, pppoe_login: bool, debug: bool):
    """Find out why the broadband connection does not work, and whose side the fault is on.

    Exit status: 0 no fault, 3 fault you can fix at home, 4 fault outside the home
    (account, line, operator), 5 inconclusive, 2 usage, 78 bad profile or rule file,
    130 interrupted, 1 internal error.
    """
    ctx.obj = {"rules_path": rules_path}
    if ctx.invoked_subcommand is None:
        from .diagnosis import diagnose
        return diagnose(as_json=as_json, lang=lang, profile_path=profile_path,
                        rules_path=rules_path, timeout=timeout,
                        options={"pppoe_login": pppoe_login})
    return None


@app.group()
def rules():
    """List, check and document the rule pack."""


def _load_rules(path: str | None):
    from .checks import BY_ID
    from .engine import pack
    return pack.load(path, set(BY_ID))


@rules.command("list")
@click.option("--lang", type=click.Choice(LANGS), help="Language of the titles.")
@click.pass_obj
def rules_list(obj, lang: str | None):
    """One line per rule: code, side, severity, id, title."""
    from .i18n import from_locale
    lang = lang or from_locale()
    for rule in _load_rules(obj["rules_path"]):
        click.echo(f"{rule.code}  {rule.side:<8} {rule.severity:<8} {rule.id:<22} {rule.title[lang]}")
    return ExitCode.NO_FAULT


@rules.command("check")
@click.argument("path", required=False)
@click.pass_obj
def rules_check(obj, path: str | None):
    """Validate a rule file or folder (default: the shipped pack). Exit 78 when broken."""
    loaded = _load_rules(path or obj["rules_path"])
    click.echo(f"{len(loaded)} rules OK")
    return ExitCode.NO_FAULT


@rules.command("doc")
@click.pass_obj
def rules_doc(obj):
    """Print the rule reference (Markdown) that docs/rules.md holds."""
    from .render import rule_reference
    click.echo(rule_reference.render(_load_rules(obj["rules_path"])), nl=False)
    return ExitCode.NO_FAULT


def main(argv: list[str] | None = None) -> int:
    """Every outcome becomes an exit code here, and only here."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = app.main(args=args, prog_name="diagnose", standalone_mode=False)
        return int(code) if code is not None else ExitCode.NO_FAULT
    except click.exceptions.Exit as exc:      # --help, --version
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return ExitCode.USAGE
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        _stderr("diagnose: interrupted")
        return ExitCode.INTERRUPTED
    except ConfigError as exc:
        _stderr(f"diagnose: error: {exc}")
        return ExitCode.CONFIG
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet exit, e.g. `| head`
        return ExitCode.INTERNAL_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            _stderr(f"diagnose: internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return ExitCode.INTERNAL_ERROR
