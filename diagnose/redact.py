"""Redaction: strip what identifies the subscriber from a report before it leaves the machine.

`redact(report, ...)` returns a redacted deep copy of a report (or of any JSON-like tree: dicts,
lists, tuples, strings, numbers, booleans, None); the input is never modified. Every string is
rewritten, dict keys included (a key can be an address); numbers, booleans and None are kept as
they are. A key whose redacted form would collide with another key of the same dict gets `~2`,
`~3`, ... appended, so no entry is lost.

Placeholders (N counts per call; the same value always gets the same N in one report, different
values get different N; IPv4 and IPv6 share one count, MACs and EUI-64 addresses another):

  `<secret>`                 a value passed in `secrets` (also its %-encoded forms), anywhere,
                             even inside a longer word or URL. Should a secret be part of
                             `<secret>` itself (e.g. the password "secret"), `<redacted>`, then
                             `***`, is used instead.
  `scheme://<credentials>@`  the user and password part of any URL (`http://u:p@host/` ->
                             `http://<credentials>@host/`); the host is then redacted like any
                             other text.
  `3c:52:82:<mac-N>`         a MAC address (`:` or `-` separated, any case): the vendor part
                             (OUI, first three octets) is kept as written, the rest replaced.
  `<local-mac-N>`            a locally administered MAC (randomised Wi-Fi MACs, virtual
                             adapters): it has no vendor part, so nothing of it is kept.
  `fe80::<eui64-mac-N>`      a non-public IPv6 address whose interface identifier is built from
                             a MAC (EUI-64): the /64 prefix is kept, N is the number of that MAC.
  `<public-ip-N>`            a public IPv4 or IPv6 address (`ipaddress` `is_global`); a prefix
                             length or zone after it (`/24`, `%eth0`) is kept.
  `ad1<pppoe-user-N>89`      a PPPoE user name of 8 characters or more: its first 3 and last 2
                             characters are kept as a hint; shorter names become
                             `<pppoe-user-N>`. A user name `name@realm` is also matched without
                             its realm.
  `<username-N>`             the local user name (also the invoking user under sudo, doas or
                             pkexec).
  `<hostname-N>`             the machine's host name; for a dotted name its first label too.

Kept on purpose: private, loopback, link-local, CGNAT (100.64.0.0/10: tells support about
carrier-grade NAT), documentation/TEST-NET, benchmark and reserved addresses, multicast
addresses, and the all-zero and broadcast MACs; any address (or network, or MAC, or literal
text) passed in `keep`, such as the profile's public resolvers and ping targets.

Host and user names are matched case-insensitively as whole tokens only: not next to a letter or
digit, so "alice" is found in "/home/alice/" and "alice_laptop" but not in "malice". CJK
characters do not count as letters here (that text has no spaces): "主机alice-pc无响应" and
"张伟的电脑" (user 张伟) are redacted; a name with CJK in it needs only 2 characters. A name is
not redacted at all when it identifies nobody and would only maim the report: shorter than 3
characters, a generic name ("root", "user", "admin", "localhost", "ubuntu", ...), or a word of
the report's own vocabulary (sides, statuses, check ids), so that e.g. the side "user" survives.

Not recognised: MACs written as `3c52.82aa.bbcc` or as bare hex, addresses spelled with dashes
inside host names (`ec2-54-1-2-3`), IPv4 with leading zeros. Secrets are honoured absolutely: a
very short secret (one letter) will maim every string it occurs in, keys included.
"""
from __future__ import annotations

import functools
import getpass
import ipaddress
import os
import re
import socket
import sys
from typing import Any, Callable, Iterable
from urllib.parse import quote, quote_plus

__all__ = ["redact"]

# Markers for secrets, in order of preference: the first that contains no secret is used.
_SECRET_MARKERS = ("<secret>", "<redacted>", "***", "#", "")
# Names that identify nobody: replacing them would only damage the report's text.
_GENERIC_NAMES = frozenset("""
    root user users admin administrator guest nobody default test demo owner home pc desktop
    laptop computer localhost localdomain localhost.localdomain ubuntu debian fedora centos
    kali arch raspberrypi linux windows mint manjaro opensuse alpine android
""".split())


@functools.lru_cache(maxsize=1)
def _report_vocabulary() -> frozenset[str]:
    """Words of the report's own vocabulary (schema enums, check ids and their parts, the tool's
    name): a host or user so named is left alone rather than breaking "side": "user" or
    "id": "router" (a name matches up to an underscore: "path" would maim "path_mtu")."""
    from .checks import BY_ID  # the registry of checks; imported late, it imports every check
    from .model import CONFIDENCES, SEVERITIES, SIDES, Status
    check_words = {word for check in BY_ID for word in (check, *check.split("_"))}
    return frozenset({*SIDES, *(status.value for status in Status), *SEVERITIES, *CONFIDENCES,
                      *check_words, "diagnose"})


_MIN_NAME = 3
_MIN_NAME_CJK = 2  # 张伟: a full name in two characters
_HINT_MIN = 8   # a PPPoE name keeps a 3+2 character hint only when 3 or more stay hidden
_SWEEPS = 8

_HEX = "[0-9A-Fa-f]"
_MAC = (rf"(?<!{_HEX})(?<!{_HEX}[:-])(?P<o1>{_HEX}{{2}})(?P<sep>[:-])(?P<o2>{_HEX}{{2}})"
        rf"(?P=sep)(?P<o3>{_HEX}{{2}})(?P=sep)(?P<o4>{_HEX}{{2}})(?P=sep)(?P<o5>{_HEX}{{2}})"
        rf"(?P=sep)(?P<o6>{_HEX}{{2}})(?!{_HEX})(?![:-][0-9A-Fa-f:])")
_IPV6 = r"(?<![0-9A-Fa-f:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*"
_IPV4 = r"(?<!\d)(?<!\d\.)(?:\d{1,3}\.){3}\d{1,3}(?!\d)(?!\.\d)"
_ADDRESS_RE = re.compile(rf"(?P<mac>{_MAC})|(?P<ipv6>{_IPV6})|(?P<ipv4>{_IPV4})")
_MAC_OR_IPV4_RE = re.compile(rf"(?P<mac>{_MAC})|(?P<ipv4>{_IPV4})")
_URL_USERINFO_RE = re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#\[\]]+@")
# What a name must not touch to count as a whole token: a letter or digit, except CJK (kana,
# hangul, ideographs), which is written without spaces: "主机zhangwei-pc无响应" holds the name.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_WORD = rf"[^\W_{_CJK}]"

Segment = tuple[str, bool]  # text, protected (already redacted or kept: later passes skip it)


def redact(report: Any, *, secrets: Iterable[str] = (), hostname: str | None = None,
           username: str | None = None, pppoe_users: Iterable[str] = (),
           keep: Iterable[str] = ()) -> Any:
    """A redacted deep copy of `report` (see the module docstring for what becomes what).

    secrets      values that must never appear (passwords, tokens): `<secret>`.
    hostname     this machine's name; None: socket.gethostname(); "": none.
    username     the local user's name; None: getpass.getuser() and the sudo/doas/pkexec
                 invoker; "": none.
    pppoe_users  PPPoE account names: a hint of them is kept.
    keep         addresses (IP, network, MAC) or literal text never to redact, e.g. the
                 profile's public_resolvers and ping_targets.
    """
    secrets, pppoe_users, keep = ([v] if isinstance(v, str) else v  # one value, not its letters
                                  for v in (secrets, pppoe_users, keep))
    hostnames = _detect_hostname() if hostname is None else [hostname]
    usernames = _detect_usernames() if username is None else [username]
    return _Redactor(secrets, hostnames, usernames, pppoe_users, keep).walk(report)


def _detect_hostname() -> list[str]:
    try:
        return [socket.gethostname()]
    except Exception:  # noqa: BLE001 - no name is better than no report
        return []


def _detect_usernames() -> list[str]:
    names = []
    try:
        names.append(getpass.getuser())
    except Exception:  # noqa: BLE001 - no user database entry, no variables
        pass
    for variable in ("SUDO_USER", "DOAS_USER"):
        if os.environ.get(variable):
            names.append(os.environ[variable])
    uid = os.environ.get("PKEXEC_UID", "")
    if uid.isdigit() and sys.platform != "win32":
        try:
            import pwd
            names.append(pwd.getpwuid(int(uid)).pw_name)
        except Exception:  # noqa: BLE001 - not on this system or no such user
            pass
    return names


def _identifying(name: str) -> bool:
    folded = name.strip().casefold()
    shortest = _MIN_NAME_CJK if _CJK_RE.search(folded) else _MIN_NAME
    return (len(folded) >= shortest and folded not in _GENERIC_NAMES
            and folded not in _report_vocabulary())


class _Redactor:
    def __init__(self, secrets, hostnames, usernames, pppoe_users, keep) -> None:
        self._numbers: dict[str, dict[Any, int]] = {}
        self._secrets = self._secret_variants(secrets)
        self._marker = next(m for m in _SECRET_MARKERS
                            if not any(s in m for s in self._secrets))
        self._secret_re = (re.compile("|".join(map(re.escape, self._secrets)))
                           if self._secrets else None)
        self._keep_ips: set = set()
        self._keep_networks: list = []
        self._keep_macs: set[str] = set()
        literals = []
        for value in keep:
            if isinstance(value, str) and value.strip():
                self._add_keep(value.strip(), literals)
        self._keep_re = (re.compile("|".join(map(re.escape, sorted(set(literals), key=len,
                                                                   reverse=True))))
                         if literals else None)
        # name (case-folded) -> (kind, shown as); first kind wins: pppoe, then user, then host.
        self._names: dict[str, tuple[str, str]] = {}
        for user in pppoe_users:
            if isinstance(user, str):
                self._add_name("pppoe-user", user.strip())
                if "@" in user.strip().strip("@"):
                    self._add_name("pppoe-user", user.strip().split("@", 1)[0])
        for user in usernames:
            if isinstance(user, str):
                self._add_name("username", user.strip())
        for host in hostnames:
            if isinstance(host, str):
                host = host.strip().rstrip(".")
                self._add_name("hostname", host)
                self._add_name("hostname", host.split(".", 1)[0])
        self._names_re = None
        if self._names:
            alternatives = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
            self._names_re = re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!{_WORD})",
                                        re.IGNORECASE)

    # -- configuration ---------------------------------------------------------------------------

    @staticmethod
    def _secret_variants(secrets) -> list[str]:
        found = set()
        for secret in secrets:
            if isinstance(secret, str) and secret:
                found.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})
        return sorted(found, key=len, reverse=True)

    def _add_keep(self, value: str, literals: list[str]) -> None:
        mac = re.fullmatch(_MAC, value)
        if mac:
            self._keep_macs.add(_mac_key(mac))
            return
        try:
            self._keep_ips.add(_canonical(ipaddress.ip_address(value.split("%", 1)[0])))
            return
        except ValueError:
            pass
        try:
            self._keep_networks.append(ipaddress.ip_network(value, strict=False))
            return
        except ValueError:
            pass
        literals.append(value)

    def _add_name(self, kind: str, name: str) -> None:
        if _identifying(name) and name.casefold() not in self._names:
            self._names[name.casefold()] = (kind, name)

    def _number(self, space: str, key: Any) -> int:
        numbers = self._numbers.setdefault(space, {})
        return numbers.setdefault(key, len(numbers) + 1)

    # -- walking ---------------------------------------------------------------------------------

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            out: dict = {}
            for key, item in value.items():
                new_key = self._unique_key(self.text(key), out) if isinstance(key, str) else key
                out[new_key] = self.walk(item)
            return out
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.walk(item) for item in value)
        if isinstance(value, (set, frozenset)):
            return type(value)(self.walk(item) for item in value)
        return value  # numbers, booleans, None: nothing to redact, and immutable

    def _unique_key(self, key: str, taken: dict) -> str:
        candidate, n = key, 1
        while candidate in taken:
            n += 1
            candidate = self._sweep(f"{key}~{n}")
        return candidate

    def text(self, text: str) -> str:
        segments: list[Segment] = [(text, False)]
        if self._secret_re:
            segments = _apply(segments, self._secret_re, lambda m: self._marker)
        segments = _apply(segments, _URL_USERINFO_RE, lambda m: f"{m.group(1)}<credentials>@")
        if self._keep_re:
            segments = _apply(segments, self._keep_re, lambda m: m.group(0))
        if self._names_re:
            segments = _apply(segments, self._names_re, self._name)
        redacted = "".join(part if protected else _ADDRESS_RE.sub(self._address, part)
                           for part, protected in segments)
        if redacted == text:
            return text  # the very same object: a str subclass keeps its type
        return self._sweep(redacted)

    def _sweep(self, text: str) -> str:
        """No secret survives: not re-formed across a placeholder, not inside one."""
        if not self._secret_re:
            return text
        for _ in range(_SWEEPS):
            if not any(secret in text for secret in self._secrets):
                return text
            text = self._secret_re.sub(self._marker, text)
        return text if not any(s in text for s in self._secrets) else self._marker

    # -- replacements ----------------------------------------------------------------------------

    def _name(self, match: re.Match) -> str:
        found = match.group(0)
        kind, name = self._names.get(found.casefold()) or next(
            (entry for entry in self._names.values()
             if re.fullmatch(re.escape(entry[1]), found, re.IGNORECASE)), ("name", found))
        n = self._number(kind, name.casefold())
        if kind == "pppoe-user" and len(name) >= _HINT_MIN:
            return f"{found[:3]}<{kind}-{n}>{found[-2:]}"
        return f"<{kind}-{n}>"

    def _address(self, match: re.Match) -> str:
        if match.group("mac") is not None:
            return self._mac(match)
        if match.group("ipv4") is not None:
            return self._ip(match.group(0))
        return self._ipv6_candidate(match.group(0))

    def _mac(self, match: re.Match) -> str:
        key = _mac_key(match)
        if key in ("000000000000", "ffffffffffff") or key in self._keep_macs:
            return match.group(0)
        n = self._number("mac", key)
        if int(key[:2], 16) & 0x02 and not int(key[:2], 16) & 0x01:
            return f"<local-mac-{n}>"
        sep = match.group("sep")
        return sep.join(match.group("o1", "o2", "o3")) + f"{sep}<mac-{n}>"

    def _ipv6_candidate(self, candidate: str) -> str:
        """The longest address inside a run of hex digits, colons and dots; else IPv4/MACs in it."""
        lead = len(candidate) - len(candidate.lstrip(":"))
        for start in dict.fromkeys((0, lead)):
            for end in dict.fromkeys((len(candidate), len(candidate.rstrip(".")),
                                      len(candidate.rstrip(".:")))):
                try:
                    address = ipaddress.IPv6Address(candidate[start:end])
                except ValueError:
                    continue
                return candidate[:start] + self._ip(candidate[start:end], address) + candidate[end:]
        return _MAC_OR_IPV4_RE.sub(self._address, candidate)

    def _ip(self, written: str, address=None) -> str:
        try:
            address = ipaddress.ip_address(written) if address is None else address
        except ValueError:
            return written  # e.g. 999.1.1.1 or leading zeros: not an address
        canonical = _canonical(address)
        if self._kept(canonical):
            return written
        if canonical.is_global and not canonical.is_multicast:
            return f"<public-ip-{self._number('ip', canonical)}>"
        if canonical.version == 6:
            return self._eui64(written, canonical)
        return written

    def _kept(self, address) -> bool:
        return address in self._keep_ips or any(
            address.version == network.version and address in network
            for network in self._keep_networks)

    def _eui64(self, written: str, address: ipaddress.IPv6Address) -> str:
        interface_id = address.packed[8:]
        if interface_id[3:5] != b"\xff\xfe" or address.is_multicast or address.is_loopback:
            return written
        mac = bytes([interface_id[0] ^ 0x02]) + interface_id[1:3] + interface_id[5:]
        key = mac.hex()
        if key in ("000000000000", "ffffffffffff") or key in self._keep_macs:
            return written
        prefix = ipaddress.IPv6Network((address, 64), strict=False).network_address.compressed
        if not prefix.endswith("::"):
            prefix += "::"
        return f"{prefix}<eui64-mac-{self._number('mac', key)}>"


def _canonical(address):
    """IPv4-mapped IPv6 counts as its IPv4 address: same number, same rules."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _mac_key(match: re.Match) -> str:
    return "".join(match.group("o1", "o2", "o3", "o4", "o5", "o6")).lower()


def _apply(segments: list[Segment], pattern: re.Pattern,
           replace: Callable[[re.Match], str]) -> list[Segment]:
    """Run one pass over the segments not yet protected; what it replaces becomes protected."""
    out: list[Segment] = []
    for text, protected in segments:
        if protected:
            out.append((text, True))
            continue
        position = 0
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            if match.start() > position:
                out.append((text[position:match.start()], False))
            out.append((replace(match), True))
            position = match.end()
        if position < len(text):
            out.append((text[position:], False))
    return out
