"""Operator settings: what to probe and who to call. Built-in default for mainland China."""
from __future__ import annotations

import copy
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from . import profile_search, yamlfile
from .errors import ConfigError
from .i18n import N_

# Domestic endpoints first (reachable in mainland China), global ones after.
DEFAULT_PROFILE: dict[str, Any] = {
    "name": "default-cn",
    "area": None,
    "isp": {"name": None, "hotline": None},
    "ticket": {"url": None, "token_env": None},
    "probes": {
        "dns_names": ["www.baidu.com", "www.qq.com", "www.bing.com"],
        "public_resolvers": ["223.5.5.5", "119.29.29.29", "1.1.1.1"],
        # The operator's own resolvers (those its routers forward to): asked directly, they tell
        # a router's failing DNS proxy from the operator's DNS. Only the operator knows them.
        "operator_resolvers": [],
        "connectivity_urls": [
            "http://connect.rom.miui.com/generate_204",
            "http://wifi.vivo.com.cn/generate_204",
            "http://connectivitycheck.gstatic.com/generate_204",
        ],
        "ping_targets": ["223.5.5.5", "119.29.29.29", "1.1.1.1"],
    },
}


MAX_ITEMS = 16      # entries in one probes list: each becomes a probe running at the same time
MAX_TEXT = 200      # characters of one text value (a name, a hotline, a URL)


def _hostname(value: str) -> str | None:
    """A DNS name of letters, digits and hyphens; international names as their IDNA form."""
    try:
        ascii_name = value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.rstrip(".").split(".")
    ok = ascii_name and len(ascii_name) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() for label in labels)
    return None if ok else N_("item {number} must be a DNS name")


def _ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return N_("item {number} must be an IP address")
    return None


def _url(value: str) -> str | None:
    """An http:// or https:// URL the internet check can fetch: a host that is a DNS name or an
    IP address, a port from 1 to 65535 if given, no user name or password."""
    try:
        parts = urlsplit(value)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return N_("item {number} must be an http:// or https:// URL")
    if parts.scheme not in ("http", "https") or not host or port == 0 or (
            parts.username is not None or parts.password is not None):
        return N_("item {number} must be an http:// or https:// URL")
    if _hostname(host) is not None and _ip(host) is not None:
        return N_("item {number} must be an http:// or https:// URL")
    return None


def _unprintable(value: str) -> bool:
    return any(not char.isprintable() for char in value)


_OPTIONAL_TEXT = "optional-text"
# key -> (type, item checker). Nested mappings are described by nested dicts.
_SCHEMA: dict[str, Any] = {
    "name": (str, None),
    "area": (_OPTIONAL_TEXT, None),
    "isp": {"name": (_OPTIONAL_TEXT, None), "hotline": (_OPTIONAL_TEXT, None)},
    "ticket": {"url": (_OPTIONAL_TEXT, None), "token_env": (_OPTIONAL_TEXT, None)},
    "probes": {
        "dns_names": (list, _hostname),
        "public_resolvers": (list, _ip),
        "operator_resolvers": (list, _ip),
        "connectivity_urls": (list, _url),
        "ping_targets": (list, _ip),
    },
}


def public_addresses(profile: dict[str, Any]) -> list[str]:
    """The addresses this profile and the built-in one name (public and operator resolvers, ping
    targets): public knowledge, not the subscriber's, so redaction keeps them readable."""
    probes = [profile["probes"], DEFAULT_PROFILE["probes"]]
    return [address for p in probes for address in (*p["public_resolvers"],
                                                    *p.get("operator_resolvers", ()),
                                                    *p["ping_targets"])]


def load(path: str | None) -> dict[str, Any]:
    """The built-in profile, with the keys a profile file gives replacing the defaults.
    Without a path, the first profile file found in the usual places (profile_search.py)."""
    profile = copy.deepcopy(DEFAULT_PROFILE)
    path = path if path is not None else profile_search.find()
    if path is None:
        return profile
    data, lines = yamlfile.read(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(N_("a profile must be a mapping of keys"), path=path, line=1)
    _merge(profile, data, _SCHEMA, (), path, lines)
    return profile


def _merge(target: dict, given: dict, schema: dict, prefix: tuple, path: str, lines) -> None:
    for key, value in given.items():
        key_path = prefix + (key,)
        dotted = ".".join(map(str, key_path))
        line = yamlfile.line_of(lines, key_path)
        if not isinstance(key, str) or key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(N_("unknown key; expected one of: {known}"), path=path, line=line,
                              key=dotted, known=known)
        rule = schema[key]
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise ConfigError(N_("must be a mapping"), path=path, line=line, key=dotted)
            _merge(target[key], value, rule, key_path, path, lines)
            continue
        kind, check_item = rule
        if kind is list:
            if not isinstance(value, list) or not value:
                raise ConfigError(N_("must be a non-empty list"), path=path, line=line, key=dotted)
            if len(value) > MAX_ITEMS:
                raise ConfigError(N_("must have at most {limit} items"), path=path, line=line,
                                  key=dotted, limit=MAX_ITEMS)
            for index, item in enumerate(value):
                problem = (N_("item {number} must be text")
                           if not isinstance(item, str) or len(item) > MAX_TEXT or _unprintable(item)
                           else check_item(item))
                if problem:
                    raise ConfigError(problem, path=path, number=index + 1,
                                      line=yamlfile.line_of(lines, key_path + (index,)), key=dotted)
            target[key] = list(value)
            continue
        if kind == _OPTIONAL_TEXT and value is None:
            target[key] = None
            continue
        # Text; a whole number is taken as its digits (hotline: 10000), nothing else is.
        if isinstance(value, int) and not isinstance(value, bool) and kind == _OPTIONAL_TEXT:
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_TEXT or _unprintable(value):
            raise ConfigError(N_("must be text (one line, at most {limit} characters)"), path=path,
                              line=line, key=dotted, limit=MAX_TEXT)
        target[key] = value
