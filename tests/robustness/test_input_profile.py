"""Profile validation: whatever a profile holds, it is refused with exit 78 and a message naming
the key, or it is usable by every check; a connectivity URL the internet check cannot use is an
observation (outcome bad_url), never a crash."""
from __future__ import annotations

import time

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import profile
from diagnose.checks import internet
from diagnose.context import Context
from diagnose.errors import ConfigError
from diagnose.exit_codes import ExitCode

from ._cli import assert_refused, diagnose

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def write(tmp_path, data, name="profile.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True))
    return str(path)


@pytest.mark.parametrize("url", [
    "http://[::1/", "http://[::1]:abc/", "http://example.com:abc/", "http://example.com:99999/",
    "http://example.com:0/", "ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)",
    "http:///generate_204", "http://user:secret@example.com/", "http://exa mple.com/",
    "http://example.com/\x00", "http://" + "a" * 300 + ".com/",
    "http://例子..中国/",
])
def test_a_url_the_internet_check_cannot_use_is_refused_naming_the_key(tmp_path, url):
    with pytest.raises(ConfigError) as caught:
        profile.load(write(tmp_path, {"probes": {"connectivity_urls": [url]}}))
    assert caught.value.key == "probes.connectivity_urls"


@pytest.mark.parametrize("url", [
    "http://connect.rom.miui.com/generate_204", "https://example.com:8443/x?y=1",
    "http://[2001:db8::1]:8080/generate_204", "http://192.0.2.1/generate_204",
    "http://例子.中国/generate_204",
])
def test_usable_urls_pass(tmp_path, url):
    loaded = profile.load(write(tmp_path, {"probes": {"connectivity_urls": [url]}}))
    assert loaded["probes"]["connectivity_urls"] == [url]


@pytest.mark.parametrize("text, key", [
    ("name: true\n", "name"), ("name: [a]\n", "name"), ("name: 2024-01-01\n", "name"),
    ("name: !!binary aGVsbG8=\n", "name"), ("isp: {hotline: true}\n", "isp.hotline"),
    ("isp: {hotline: 1.5}\n", "isp.hotline"), ("isp: {name: \"a\\x00b\"}\n", "isp.name"),
    ("isp: {name: \"" + "x" * 201 + "\"}\n", "isp.name"), ("ticket: {url: {a: 1}}\n", "ticket.url"),
    ("probes: {dns_names: [1]}\n", "probes.dns_names"),
    ("probes: {ping_targets: [" + ", ".join(["192.0.2.1"] * 17) + "]}\n", "probes.ping_targets"),
    ("1: x\n", "1"), ("probes: {null: x}\n", "probes.None"),
])
def test_every_field_is_type_checked_and_named(tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        profile.load(write(tmp_path, text))
    assert caught.value.key == key


def test_a_hotline_written_as_a_number_is_its_digits(tmp_path):
    assert profile.load(write(tmp_path, "isp: {hotline: 10000}\n"))["isp"]["hotline"] == "10000"


def test_the_cli_names_a_bad_url_with_exit_78_before_any_probe(tmp_path):
    path = write(tmp_path, "probes:\n  connectivity_urls: ['http://[::1/']\n")
    ran = diagnose("--profile", path, "--only", "internet")
    assert_refused(ran, ExitCode.CONFIG, f"{path}:2", "probes.connectivity_urls")


# ------------------------------------------------------------------------------- fuzzing
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                     st.binary(max_size=10))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), st.integers()),
                                                 inner, max_size=4)), max_leaves=12)
_keys = st.sampled_from(["name", "isp", "ticket", "probes", "dns_names", "public_resolvers",
                         "connectivity_urls", "ping_targets", "hotline", "url", "token_env", "x"])
_profiles = st.recursive(_values, lambda inner: st.dictionaries(_keys, inner, max_size=4),
                         max_leaves=16)
_urls = st.one_of(
    st.text(max_size=40),
    st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
              st.sampled_from(["http", "https", "ftp", "HTTP", ""]),
              st.one_of(st.text(max_size=12), st.sampled_from(["[::1", "[::1]", "127.0.0.1",
                                                                "example.com", "a..b", "[fe80::1%lo]"])),
              st.one_of(st.just(""), st.text(max_size=6).map(lambda p: ":" + p),
                        st.integers(-5, 100_000).map(lambda p: f":{p}")),
              st.text(max_size=10)))


@FUZZ
@given(data=_profiles)
def test_any_profile_is_loaded_or_refused_cleanly(tmp_path, data):
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    _load_or_refuse(write(tmp_path, text))


@FUZZ
@given(urls=st.lists(_urls, min_size=1, max_size=3))
def test_any_url_list_is_loaded_or_refused_and_a_loaded_one_is_fetched_without_crash(
        tmp_path, monkeypatch, urls):
    loaded = _load_or_refuse(write(tmp_path, {"probes": {"connectivity_urls": urls}}))
    if loaded is None:
        return
    prepared = _fetch_offline(monkeypatch, loaded["probes"]["connectivity_urls"])
    assert all(result["outcome"] in internet.OUTCOME_WORDS for result in prepared)


@FUZZ
@given(url=_urls)
def test_the_internet_check_survives_any_url_even_unvalidated(monkeypatch, url):
    result, = _fetch_offline(monkeypatch, [url])
    assert result["outcome"] in internet.OUTCOME_WORDS


def _load_or_refuse(path):
    try:
        return profile.load(path)
    except ConfigError as exc:
        assert exc.message and "{" not in exc.message   # every placeholder filled
        return None


def _fetch_offline(monkeypatch, urls):
    """fetch() with a resolver that answers and a session that prepares the request (as
    requests would send it) and then fails to connect: no traffic leaves the test."""
    monkeypatch.setattr(internet.dnsquery, "resolve_first",
                        lambda *a, **k: {"outcome": "answer", "answers": ["192.0.2.1"]})

    class Offline(requests.Session):
        def get(self, url, **kwargs):
            requests.Request("GET", url, **{k: v for k, v in kwargs.items()
                                            if k == "headers"}).prepare()
            raise requests.exceptions.ConnectionError("offline")

    monkeypatch.setattr(internet, "_pinned_session", lambda scheme, host: Offline())
    ctx = Context(profile={}, privileged=False, deadline=time.monotonic() + 5, results={})
    return [internet.fetch(ctx, url, ["192.0.2.53"]) for url in urls]
