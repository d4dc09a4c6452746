"""Profiles: defaults for mainland China; bad files named with file, line and key."""
from __future__ import annotations

import pytest

from diagnose import profile
from diagnose.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    return str(path)


def test_default_profile_puts_domestic_endpoints_first():
    probes = profile.load(None)["probes"]
    assert probes["public_resolvers"][0] in ("223.5.5.5", "119.29.29.29", "114.114.114.114")
    assert ".cn" in probes["connectivity_urls"][1] or "miui" in probes["connectivity_urls"][0]
    assert all(len(probes[k]) >= 2 for k in probes if k != "operator_resolvers")
    assert probes["operator_resolvers"] == []   # only an operator's own profile knows them


def test_operator_resolvers_are_addresses_and_public_knowledge(tmp_path):
    loaded = profile.load(write(tmp_path, "probes:\n  operator_resolvers: [198.51.100.53]\n"))
    assert loaded["probes"]["operator_resolvers"] == ["198.51.100.53"]
    assert "198.51.100.53" in profile.public_addresses(loaded)   # redaction keeps it
    with pytest.raises(ConfigError, match="item 1 must be an IP address"):
        profile.load(write(tmp_path, "probes:\n  operator_resolvers: [dns.example]\n"))


def test_given_keys_replace_defaults_and_others_stay(tmp_path):
    loaded = profile.load(write(tmp_path, "name: lab\nprobes:\n  ping_targets: [203.0.113.1]\n"))
    assert loaded["name"] == "lab" and loaded["probes"]["ping_targets"] == ["203.0.113.1"]
    assert loaded["probes"]["dns_names"] == profile.DEFAULT_PROFILE["probes"]["dns_names"]
    assert profile.DEFAULT_PROFILE["name"] == "default-cn"  # defaults are not mutated


@pytest.mark.parametrize("text, line, key, words", [
    ("name: x\ncolour: red\n", 2, "colour", "unknown key"),
    ("probes:\n  dns_names: www.qq.com\n", 2, "probes.dns_names", "non-empty list"),
    ("probes:\n  public_resolvers:\n    - 223.5.5.5\n    - dns.example\n", 4,
     "probes.public_resolvers", "item 2 must be an IP address"),
    ("probes:\n  connectivity_urls: [ftp://x/]\n", 2, "probes.connectivity_urls", "http"),
    ("isp: 10000\n", 1, "isp", "mapping"),
    ("isp: {name: [1]}\n", 1, "isp.name", "text"),
    ("name: 5\n", 1, "name", "must be text"),
])
def test_bad_profile_is_named(tmp_path, text, line, key, words):
    with pytest.raises(ConfigError) as caught:
        profile.load(write(tmp_path, text))
    assert (caught.value.line, caught.value.key) == (line, key)
    assert words in caught.value.message


@pytest.mark.parametrize("text, words", [
    ("- a\n- b\n", "mapping"), ("probes: [\n", "not valid YAML"), ("a: 1\na: 2\n", "duplicate"),
    ("!!python/object/apply:os.system [echo hi]\n", "not valid YAML"),
])
def test_malformed_profile(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        profile.load(write(tmp_path, text))


def test_missing_profile(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        profile.load(str(tmp_path / "nope.yaml"))


def test_empty_profile_is_the_default(tmp_path):
    assert profile.load(write(tmp_path, "")) == profile.DEFAULT_PROFILE
