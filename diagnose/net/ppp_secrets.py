"""Dial-up credentials: the dialer's user name and its password, read only for --pppoe-login.

Sources, as pppd itself uses them: the peers file's `user` option with the matching line of
/etc/ppp/pap-secrets (PAP) or /etc/ppp/chap-secrets (CHAP), or a NetworkManager pppoe connection
(`[pppoe] username=`, `password=`), or a password the CLI passes in (ctx.options["pppoe_password"]).

The password lives only in a Credentials object whose repr hides it. Nothing here logs, prints
or raises with a secret in the message; `scrub` removes both halves of the account from any text
that could reach the report (a server message can echo the user name).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

MAX_SECRETS_BYTES = 256 * 1024  # a secrets file is a few lines; never read a huge one whole
HINT_MIN = 8  # below this a hint would give most of the name away: show none (as redact.py)
HIDDEN = "***"


def user_hint(user: str | None) -> str | None:
    """First 3 and last 2 characters: enough for the hotline to tell accounts apart."""
    if not user:
        return None
    return f"{user[:3]}…{user[-2:]}" if len(user) >= HINT_MIN else HIDDEN


@dataclass(frozen=True)
class Credentials:
    user: str
    pap: str | None = field(default=None, repr=False)
    chap: str | None = field(default=None, repr=False)
    source: str = ""

    def secret(self, protocol: str) -> str | None:
        """The password for "pap" or "chap" (pppd keeps them in two files)."""
        return self.pap if protocol == "pap" else self.chap

    def __repr__(self) -> str:  # never the password, never the whole user name
        return f"Credentials(user={user_hint(self.user)!r}, source={self.source!r})"

    __str__ = __repr__


def words(line: str) -> list[str]:
    """A pppd options/secrets line as words (quotes, comments); [] when it cannot be parsed."""
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return []


def peers_user(text: str) -> str | None:
    """The `user NAME` option of a pppd peers file (the last one wins, as in pppd)."""
    user = None
    for line in text.splitlines():
        parts = words(line)
        if len(parts) >= 2 and parts[0] == "user":
            user = parts[1]
    return user


def parse_secrets(text: str) -> list[tuple[str, str, str]]:
    """pap-secrets / chap-secrets -> [(client, server, secret)]; malformed lines are skipped."""
    entries = []
    for line in text.splitlines():
        parts = words(line)
        if len(parts) >= 3:
            entries.append((parts[0], parts[1], parts[2]))
    return entries


def find_secret(entries: Iterable[tuple[str, str, str]], user: str,
                remote: str | None = None) -> str | None:
    """The secret pppd would use for `user` (exact client first, then `*`; a named server
    only when it is the remote's name). Secrets pppd reads from a file (`@/path`) are skipped."""
    best, best_rank = None, None
    for client, server, secret in entries:
        if client not in (user, "*") or server not in ("*", remote) or secret.startswith("@"):
            continue
        rank = (client != user, server == "*")
        if best_rank is None or rank < best_rank:
            best, best_rank = secret, rank
    return best


def keyfile(text: str) -> dict[str, dict[str, str]]:
    """The groups of a NetworkManager keyfile (a GLib key file): group -> key -> value, read by
    configparser: `#` comments, `key=value`, the last of a repeated key wins, names keep their
    case. A file that is no key file (text before the first group) has no groups; lines that
    are not `key=value` are left out and the rest is kept."""
    import configparser
    parser = configparser.RawConfigParser(delimiters=("=",), comment_prefixes=("#",),
                                          strict=False, empty_lines_in_values=False,
                                          default_section="\0", interpolation=None)
    parser.optionxform = str   # type: ignore[assignment,method-assign]
    # GLib ignores leading white space; configparser would take the line as a continuation
    try:
        parser.read_string("\n".join(line.lstrip() for line in text.splitlines()))
    except configparser.MissingSectionHeaderError:
        return {}
    except configparser.Error:   # what could be read is kept (a ParsingError comes at the end)
        pass
    return {group: dict(parser.items(group)) for group in parser.sections()}


def networkmanager_account(text: str) -> tuple[str | None, str | None]:
    """(username, password) of the [pppoe] group of a NetworkManager keyfile."""
    pppoe = keyfile(text).get("pppoe", {})
    return pppoe.get("username") or None, pppoe.get("password") or None


def load(read: Callable[[str], str | None], *, user: str | None, password: str | None = None,
         nm_password: str | None = None, remote: str | None = None
         ) -> tuple[Credentials | None, str | None]:
    """(credentials, None) or (None, why not). `read(path)` returns a file's text or None.

    `password` (from the command line) wins; then the secrets files; then NetworkManager's.
    """
    if not user:
        return None, "the dialer names no user"
    if password:
        return Credentials(user, password, password, "option"), None
    found = {}
    for protocol, path in (("pap", "/etc/ppp/pap-secrets"), ("chap", "/etc/ppp/chap-secrets")):
        text = read(path)
        if text:
            found[protocol] = find_secret(parse_secrets(text), user, remote)
    if found.get("pap") or found.get("chap"):
        # pppd falls back to nothing; we let one file stand in for the other (same account).
        pap = found.get("pap") or found.get("chap")
        chap = found.get("chap") or found.get("pap")
        return Credentials(user, pap, chap, "secrets"), None
    if nm_password:
        return Credentials(user, nm_password, nm_password, "networkmanager"), None
    return None, "no password for the dialer's user in pap-secrets or chap-secrets"


def scrub(text: str, user: str | None, secrets: Iterable[str | None] = ()) -> str:
    """Text with every secret replaced by *** and the user name by its hint."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    if user and len(user) >= 3:  # a shorter name would maim every word it occurs in
        text = text.replace(user, user_hint(user) or HIDDEN)
    return text


def scrub_tree(value: Any, user: str | None, secrets: Iterable[str | None] = ()) -> Any:
    """scrub() over every string in a JSON-like tree (keys included)."""
    secrets = [s for s in secrets if s]
    if not user and not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, user, secrets)
    if isinstance(value, dict):
        return {scrub_tree(k, user, secrets): scrub_tree(v, user, secrets)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_tree(v, user, secrets) for v in value)
    return value


DIALER_CONFIG_DIRS = ("/etc/ppp/peers", "/etc/NetworkManager/system-connections")


def dialer_accounts(root: str = "/") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(account names, passwords) of every PPPoE dialer configured on this machine: the `user`
    of each pppd peers file, the [pppoe] username (and password) of each NetworkManager keyfile.

    Redaction learns them before any check runs, so an account name is hidden wherever it turns
    up (a portal URL) even when the pppoe check is skipped or times out. Secrets files are not
    read. Only regular files, each read no further than MAX_SECRETS_BYTES."""
    import os
    import stat
    users: list[str] = []
    passwords: list[str] = []
    for folder in DIALER_CONFIG_DIRS:
        directory = os.path.join(root, folder.lstrip("/"))
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue        # a FIFO or device must not hang the run
                with open(path, "rb") as handle:
                    text = handle.read(MAX_SECRETS_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
            if folder.endswith("peers"):
                found, password = peers_user(text), None
            else:
                found, password = networkmanager_account(text)
            users += [found] if found else []
            passwords += [password] if password else []
    return tuple(dict.fromkeys(users)), tuple(dict.fromkeys(passwords))
