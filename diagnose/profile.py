"""Operator settings: what to probe and who to call. Built-in default for mainland China."""
from __future__ import annotations

import copy
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from . import yamlfile
from .errors import ConfigError
from .i18n import N_

# Domestic endpoints first (reachable in mainland China), global ones after.
DEFAULT_PROFILE: dict[str, Any] = {
    "name": "default-cn",
    "isp": {"name": None, "hotline": None},
    "ticket": {"url": None, "token_env": None},
    "probes": {
        "dns_names": ["www.baidu.com", "www.qq.com", "www.bing.com"],
        "public_resolvers": ["223.5.5.5", "119.29.29.29", "1.1.1.1"],
        "connectivity_urls": [
            "http://connect.rom.miui.com/generate_204",
            "http://wifi.vivo.com.cn/generate_204",
            "http://connectivitycheck.gstatic.com/generate_204",
        ],
        "ping_targets": ["223.5.5.5", "119.29.29.29", "1.1.1.1"],
    },
}


def _hostname(value: str) -> str | None:
    labels = value.rstrip(".").split(".")
    ok = value and len(value) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() for label in labels)
    return None if ok else N_("item {number} must be a DNS name")


def _ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return N_("item {number} must be an IP address")
    return None


def _url(value: str) -> str | None:
    parts = urlsplit(value)
    return None if parts.scheme in ("http", "https") and parts.hostname else N_(
        "item {number} must be an http:// or https:// URL")


_OPTIONAL_TEXT = "optional-text"
# key -> (type, item checker). Nested mappings are described by nested dicts.
_SCHEMA: dict[str, Any] = {
    "name": (str, None),
    "isp": {"name": (_OPTIONAL_TEXT, None), "hotline": (_OPTIONAL_TEXT, None)},
    "ticket": {"url": (_OPTIONAL_TEXT, None), "token_env": (_OPTIONAL_TEXT, None)},
    "probes": {
        "dns_names": (list, _hostname),
        "public_resolvers": (list, _ip),
        "connectivity_urls": (list, _url),
        "ping_targets": (list, _ip),
    },
}


def load(path: str | None) -> dict[str, Any]:
    """The built-in profile, with the keys a profile file gives replacing the defaults."""
    profile = copy.deepcopy(DEFAULT_PROFILE)
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
        if key not in schema:
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
        if kind == _OPTIONAL_TEXT:
            if value is not None and not isinstance(value, (str, int)):
                raise ConfigError(N_("must be text"), path=path, line=line, key=dotted)
            target[key] = None if value is None else str(value)
        elif kind is list:
            if not isinstance(value, list) or not value:
                raise ConfigError(N_("must be a non-empty list"), path=path, line=line, key=dotted)
            for index, item in enumerate(value):
                problem = N_("item {number} must be text") if not isinstance(item, str) else check_item(item)
                if problem:
                    raise ConfigError(problem, path=path, number=index + 1,
                                      line=yamlfile.line_of(lines, key_path + (index,)), key=dotted)
            target[key] = list(value)
        else:
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(N_("must be text"), path=path, line=line, key=dotted)
            target[key] = value
