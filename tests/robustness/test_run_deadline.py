"""One deadline for the whole process: no thread a probe left behind keeps it alive."""
from __future__ import annotations

import pytest

from ._process import SLACK_S, assert_no_crash, environment, shell
from ._servers import Trickler


@pytest.fixture
def trickler():
    server = Trickler()
    yield server
    server.close()


@pytest.mark.parametrize("timeout", [2.0, 4.0])
def test_a_trickling_connectivity_url_ends_by_the_deadline(tmp_path, trickler, timeout):
    profile = tmp_path / "trickle.yaml"
    profile.write_text(f"name: trickle\nprobes:\n  connectivity_urls: [\"{trickler.url}\"]\n")
    env = environment(tmp_path / "data")
    ran = shell(f"$DIAGNOSE --json --profile {profile} --only internet --timeout {timeout} | cat",
                env, timeout=timeout + 30)
    assert_no_crash(ran)
    assert ran.seconds < timeout + SLACK_S, ran.seconds
    internet = next(c for c in ran.report()["checks"] if c["id"] == "internet")
    if internet["status"] != "timeout":     # with time to spare, the URL's own total wait ends it
        assert [u["outcome"] for u in internet["facts"]["urls"]] == ["timeout"]
