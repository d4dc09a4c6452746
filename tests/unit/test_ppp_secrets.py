"""Dial-up credentials (diagnose.net.ppp_secrets): pppd's secrets files, NetworkManager, scrub."""
from __future__ import annotations

import pytest

from diagnose.net import ppp_secrets as sec
from diagnose.net.ppp_secrets import Credentials

USER, PASSWORD = "ad12345678@isp", "CANARY-PPPOE-PASSWORD"

PAP_SECRETS = f"""\
# Secrets for authentication using PAP
# client        server  secret                  IP addresses
"{USER}"        *       "{PASSWORD}"            *
"other@isp"     *       "other-pass"
"""


def reader(files: dict):
    return lambda path: files.get(path)


# ---------------------------------------------------------------- parsing

def test_words_quotes_comments_and_broken_lines():
    assert sec.words('user "a b@isp"  # comment') == ["user", "a b@isp"]
    assert sec.words("# only a comment") == []
    assert sec.words('user "unterminated') == []
    assert sec.words("pass\\ word x") == ["pass word", "x"]


def test_peers_user_last_wins_and_ignores_comments():
    text = "plugin rp-pppoe.so\nnic-eth0\n# user commented@out\nuser first\nuser 'second@isp'\n"
    assert sec.peers_user(text) == "second@isp"
    assert sec.peers_user("noauth\nuser\n") is None


def test_parse_secrets_skips_short_and_malformed_lines():
    entries = sec.parse_secrets(PAP_SECRETS + 'lonely-client *\n"broken *  x\n')
    assert entries == [(USER, "*", PASSWORD), ("other@isp", "*", "other-pass")]


def test_secrets_with_spaces_quotes_and_hash():
    text = '"ad 1@isp" * "pa ss#word"\nad2@isp * \'it\'\'s\'\n'
    entries = sec.parse_secrets(text)
    assert entries == [("ad 1@isp", "*", "pa ss#word"), ("ad2@isp", "*", "its")]


@pytest.mark.parametrize("entries, user, remote, expected", [
    ([(USER, "*", "exact"), ("*", "*", "wild")], USER, None, "exact"),
    ([("*", "*", "wild")], USER, None, "wild"),
    ([(USER, "bras-7", "for-bras"), (USER, "*", "any")], USER, "bras-7", "for-bras"),
    ([(USER, "bras-7", "for-bras")], USER, None, None),      # a named server only when it dials it
    ([(USER, "*", "@/etc/ppp/file-secret")], USER, None, None),   # pppd reads that file: we don't
    ([("someone-else", "*", "x")], USER, None, None),
])
def test_find_secret(entries, user, remote, expected):
    assert sec.find_secret(entries, user, remote) == expected


def test_networkmanager_account():
    text = ("[connection]\nid=DSL\ntype=pppoe\n[pppoe]\nparent=eth0\n"
            f"username={USER}\npassword={PASSWORD}\n[ipv4]\nmethod=auto\npassword=not-this\n")
    assert sec.networkmanager_account(text) == (USER, PASSWORD)
    assert sec.networkmanager_account("[pppoe]\nusername=\n") == (None, None)


def test_keyfile_reads_as_glib_does():
    text = ("# NetworkManager\n[connection]\n  id = DSL\ntype=pppoe\nType=other\n"
            "[pppoe]\nusername=a;b\npassword=p#1=x\nbroken line\nusername=second\n"
            "[DEFAULT]\nkey=1\n")
    assert sec.keyfile(text) == {
        "connection": {"id": "DSL", "type": "pppoe", "Type": "other"},   # names keep their case
        "pppoe": {"username": "second", "password": "p#1=x"},           # the last one wins
        "DEFAULT": {"key": "1"}}                                        # no special group
    assert sec.keyfile("username=x\n[pppoe]\n") == {}   # no key file: nothing before a group
    assert sec.keyfile("") == {} and sec.keyfile("[a]\n[a]\nk=v\n") == {"a": {"k": "v"}}


# ---------------------------------------------------------------- load

def test_load_prefers_the_command_line_password():
    creds, why = sec.load(reader({"/etc/ppp/pap-secrets": PAP_SECRETS}), user=USER,
                          password="typed")
    assert why is None and (creds.pap, creds.chap, creds.source) == ("typed", "typed", "option")


def test_load_from_pap_and_chap_secrets():
    files = {"/etc/ppp/pap-secrets": PAP_SECRETS,
             "/etc/ppp/chap-secrets": f'"{USER}" * "chap-only"\n'}
    creds, _ = sec.load(reader(files), user=USER)
    assert (creds.pap, creds.chap, creds.source) == (PASSWORD, "chap-only", "secrets")
    assert creds.secret("pap") == PASSWORD and creds.secret("chap") == "chap-only"


def test_one_secrets_file_stands_in_for_the_other():
    creds, _ = sec.load(reader({"/etc/ppp/chap-secrets": PAP_SECRETS}), user=USER)
    assert creds.pap == creds.chap == PASSWORD


def test_load_falls_back_to_networkmanager_then_gives_a_reason():
    creds, _ = sec.load(reader({}), user=USER, nm_password="nm-pass")
    assert (creds.pap, creds.source) == ("nm-pass", "networkmanager")
    creds, why = sec.load(reader({"/etc/ppp/pap-secrets": PAP_SECRETS}), user="nobody@isp")
    assert creds is None and "no password" in why and "nobody" not in why
    assert sec.load(reader({}), user=None) == (None, "the dialer names no user")


# ---------------------------------------------------------------- never shown

def test_credentials_repr_hides_password_and_most_of_the_user():
    creds = Credentials(USER, PASSWORD, PASSWORD, "secrets")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert PASSWORD not in text and USER not in text
    assert "ad1…sp" in repr(creds)


@pytest.mark.parametrize("user, hint", [
    (USER, "ad1…sp"), ("abcdefgh", "abc…gh"), ("short", "***"), ("", None), (None, None)])
def test_user_hint(user, hint):
    assert sec.user_hint(user) == hint


def test_scrub():
    text = f"login {USER} with {PASSWORD} and {PASSWORD}-suffix refused"
    assert sec.scrub(text, USER, [PASSWORD]) == "login ad1…sp with *** and ***-suffix refused"
    # the longer secret first, so a secret inside another leaves nothing behind
    assert sec.scrub("abc-long abc", None, ["abc", "abc-long"]) == "*** ***"
    assert sec.scrub("a bc", "bc", []) == "a bc"        # too short a name maims every word
    assert sec.scrub("x", None, [None, ""]) == "x"


def test_scrub_tree_keys_values_lists_and_other_types():
    tree = {"message": f"bye {USER}", USER: [PASSWORD, 3, None, (PASSWORD,)], "ok": True}
    scrubbed = sec.scrub_tree(tree, USER, [PASSWORD])
    assert scrubbed == {"message": "bye ad1…sp", "ad1…sp": ["***", 3, None, ("***",)],
                        "ok": True}
    assert sec.scrub_tree(tree, None, []) is tree
