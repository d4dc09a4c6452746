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


CHECK_NAMES = {
    "route": N_("route"), "interfaces": N_("adapters"), "addressing": N_("address"),
    "gateway": N_("gateway"), "dns": N_("DNS"), "internet": N_("internet"), "proxy": N_("proxy"),
    "pppoe": N_("PPPoE"), "router": N_("router"), "line_quality": N_("line quality"),
    "wifi": N_("Wi-Fi"), "path_mtu": N_("packet size"), "dns_hijack": N_("DNS rewriting"),
    "ipv6": N_("IPv6"), "lookup": N_("name lookup"),
    "firewall": N_("local firewall"), "paths": N_("traffic paths"),
    "ip_settings": N_("IP settings"),
}
STATUS_NAMES = {"ok": N_("ok"), "problem": N_("problem"), "skipped": N_("skipped"),
                "error": N_("error"), "timeout": N_("timeout")}
CONFIDENCE_NAMES = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def t(lang: str, message: str, **values) -> str:
    """The message in lang, with {values} filled in."""
    text = catalog(lang).gettext(message)
    return text.format(**values) if values else text


def check_name(lang: str, check_id: str) -> str:
    return t(lang, CHECK_NAMES.get(check_id, check_id))


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
