"""Languages: gettext catalogs for the interface (diagnose/locale), rule texts in the rule pack.

Source strings are English and marked where they are written: `N_("...")` where the text is
translated later (check reasons, names), `t(lang, "...")` where it is needed now. A test
extracts every marked string and fails when the zh_CN catalog lacks it.
"""
from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path
from typing import Mapping

LANGS = ("en", "zh_CN")
DOMAIN = "diagnose"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def N_(message: str) -> str:
    """Marks a string for translation where it is written; translated where it is shown."""
    return message


# A check's status says whether it could observe; "problem" is read only in the reports and
# digests (versions 1 to 6) of older versions, whose checks flagged some observations themselves.
STATUS_NAMES = {"ok": N_("ok"), "problem": N_("problem"), "skipped": N_("skipped"),
                "error": N_("error"), "timeout": N_("timeout")}
CONFIDENCE_NAMES = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}
# What each confidence means, for a person who does not know how the verdict is reached.
CONFIDENCE_MEANINGS = {"high": N_("proven by the checks"), "medium": N_("likely, not proven"),
                       "low": N_("a best guess, the cause is not proven")}


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def t(lang: str, message: str, **values) -> str:
    """The message in lang, with {values} filled in."""
    text = catalog(lang).gettext(message)
    return text.format(**values) if values else text


def check_name(lang: str, check_id: str) -> str:
    """A check's name for people, as the check declares it (diagnose/checks)."""
    name = __getattr__("CHECK_NAMES").get(check_id)
    return t(lang, name) if name else check_id


def __getattr__(name: str):
    """CHECK_NAMES (check id -> name), derived from the checks' own declarations."""
    if name == "CHECK_NAMES":
        from .checks import BY_ID  # imported late: the checks themselves import this module
        return {check: spec.name for check, spec in BY_ID.items() if spec.name}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def activate(lang: str) -> None:
    """Make plain gettext (and so click's own messages) speak lang in this process."""
    os.environ["LANGUAGE"] = lang
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)


def from_locale(env: Mapping[str, str] | None = None) -> str:
    """zh_CN for a Chinese locale (LC_ALL, LC_MESSAGES, LANG, LANGUAGE), else English."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"
