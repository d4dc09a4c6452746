"""What the dialer last logged (diagnose.net.ppp_logs), from real-looking pppd / rp-pppoe lines.

The journal comes through an injected `run`, files through a fake root: no real log is read.
"""
from __future__ import annotations

import datetime
import os
import subprocess

import pytest

from diagnose.net import ppp_logs

NOW = datetime.datetime(2026, 11, 24, 20, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
USER, PASSWORD = "ad12345678@isp", "CANARY-PPPOE-PASSWORD"


def iso(minutes_ago: float) -> str:
    stamp = datetime.datetime.fromtimestamp(NOW - minutes_ago * 60, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S+0000")


def journal(*lines: tuple[float, str], tag: str = "pppd") -> str:
    return "".join(f"{iso(ago)} myhost {tag}[812]: {text}\n" for ago, text in lines)


def bsd(minutes_ago: float, text: str, tag: str = "pppd[812]") -> str:
    stamp = datetime.datetime.fromtimestamp(NOW - minutes_ago * 60).strftime("%b %e %H:%M:%S")
    return f"{stamp} myhost {tag}: {text}\n"


START = [(10, "Plugin rp-pppoe.so loaded."),
         (10, "RP-PPPoE plugin version 3.8p compiled against pppd 2.4.9"),
         (10, "pppd 2.4.9 started by root, uid 0")]


def reader(tmp_path, journal_text=None, *, journal_rc=0):
    calls = []

    def run(argv, timeout):
        calls.append((argv, timeout))
        if journal_text is None:
            return None          # no journalctl on this machine
        return subprocess.CompletedProcess(argv, journal_rc, journal_text, "")

    def path(absolute):
        return tmp_path / absolute.lstrip("/")

    def read(logfiles=(), **kwargs):
        kwargs.setdefault("user", USER)
        kwargs.setdefault("secrets", (PASSWORD,))
        return ppp_logs.read(run=run, path=path, logfiles=list(logfiles), budget=0.5, now=NOW,
                             **kwargs)
    read.calls = calls
    return read


def write(tmp_path, name, text, *, minutes_ago=1.0):
    file = tmp_path / name.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    os.utime(file, (NOW - minutes_ago * 60, NOW - minutes_ago * 60))
    return file


# ---------------------------------------------------------------- each known failure

@pytest.mark.parametrize("lines, outcome, step, message", [
    ([(5, "Timeout waiting for PADO packets"), (5, "Unable to complete PPPoE Discovery")],
     "no_pado", "PADI", None),
    ([(5, "Timeout waiting for PADS packets"), (5, "Unable to complete PPPoE Discovery")],
     "pads_timeout", "PADR", None),
    ([(5, "PADS: Service-Name-Error: Request not honored"),
      (5, "Unable to complete PPPoE Discovery")],
     "pads_error", "PADS", "Service-Name-Error: Request not honored"),
    ([(5, "PADS: System-Error: Too many sessions")], "pads_error", "PADS",
     "AC-System-Error: Too many sessions"),
    ([(5, "PADS: Generic-Error: ")], "pads_error", "PADS", "Generic-Error"),
    ([(5, "PPP session is 4660"), (5, "Connect: ppp0 <--> eth0"),
      (4, "LCP: timeout sending Config-Requests"), (4, "Connection terminated."),
      (4, "Modem hangup")], "lcp_timeout", "LCP", None),
    ([(5, "Remote message: E=691 R=0 Account suspended: arrears"),
      (5, "PAP authentication failed"), (5, "Connection terminated.")],
     "auth_refused", "PAP", "E=691 R=0 Account suspended: arrears"),
    ([(5, "CHAP authentication failed: E=691 R=1 C=8ba0d3e2 V=3 M=Authentication failure"),
      (5, "CHAP authentication failed"), (5, "Connection terminated.")],
     "auth_refused", "CHAP", "E=691 R=1 C=8ba0d3e2 V=3 M=Authentication failure"),
    ([(5, "MS-CHAP authentication failed: E=691 R=1"), (5, "MS-CHAP authentication failed")],
     "auth_refused", "CHAP", "E=691 R=1"),
    ([(5, "No response to PAP authenticate-requests")], "auth_timeout", "PAP", None),
    ([(5, "PAP authentication succeeded"), (5, "IPCP: timeout sending Config-Requests")],
     "ipcp_timeout", "IPCP", None),
])
def test_known_failures_from_the_journal(tmp_path, lines, outcome, step, message):
    result = reader(tmp_path, journal(*START, *lines))()
    assert (result["outcome"], result["step"], result.get("message")) == (outcome, step, message)
    assert result["source"] == "journal" and result["age_s"] >= 240
    assert result["read"][0] == "journal"


def test_pads_error_keeps_tag_and_text(tmp_path):
    result = reader(tmp_path, journal((3, "PADS: System-Error: Too many sessions")))()
    assert result["pads_error"] == {"tag": "AC-System-Error", "message": "Too many sessions"}


def test_a_later_success_wins_and_names_the_address(tmp_path):
    text = journal((30, "PAP authentication failed"), (2, "PAP authentication succeeded"),
                   (2, "local  IP address 100.64.12.34"), (2, "remote IP address 10.0.0.1"))
    result = reader(tmp_path, text)()
    assert result["outcome"] == "connected" and result["address"] == "100.64.12.34"


def test_terminate_after_a_failure_keeps_the_failure_and_its_reason(tmp_path):
    text = journal((3, "LCP: timeout sending Config-Requests"),
                   (3, "LCP terminated by peer (Session idle)"))
    result = reader(tmp_path, text)()
    assert result["outcome"] == "lcp_timeout" and result["terminate_reason"] == "Session idle"


def test_terminated_session_and_echo_timeout(tmp_path):
    result = reader(tmp_path, journal((2, "local  IP address 100.64.1.2"),
                                      (1, "No response to 4 echo-requests"),
                                      (1, "Serial link appears to be disconnected.")))()
    assert (result["outcome"], result["step"]) == ("terminated", "LCP")


def test_lines_older_than_a_day_and_other_tags_are_ignored(tmp_path):
    text = (journal((25 * 60, "PAP authentication failed"))
            + journal((5, "PAP authentication failed"), tag="NetworkManager"))
    result = reader(tmp_path, text)()
    assert result["outcome"] is None and result["source"] is None


# ---------------------------------------------------------------- sources

def test_pppd_logfile_is_read_first_and_dated_by_its_mtime(tmp_path):
    write(tmp_path, "/var/log/ppp-dsl.log",
          "Plugin rp-pppoe.so loaded.\nRemote message: Authentication failed\n"
          "PAP authentication failed\n", minutes_ago=2)
    read = reader(tmp_path, journal((60, "Timeout waiting for PADO packets")))
    result = read(["/var/log/ppp-dsl.log"])
    assert (result["outcome"], result["source"]) == ("auth_refused", "/var/log/ppp-dsl.log")
    assert result["message"] == "Authentication failed" and result["age_s"] == 120


def test_the_newest_source_wins(tmp_path):
    write(tmp_path, "/var/log/syslog", bsd(90, "Timeout waiting for PADO packets"))
    read = reader(tmp_path, journal((3, "LCP: timeout sending Config-Requests")))
    result = read()
    assert (result["outcome"], result["source"]) == ("lcp_timeout", "journal")
    assert result["read"] == ["journal", "/var/log/syslog"]


def test_without_journalctl_syslog_and_ppp_logs_are_read(tmp_path):
    write(tmp_path, "/var/log/syslog", bsd(5, "Timeout waiting for PADO packets", "pppd[9]")
          + bsd(4, "something else", "cron[2]"))
    write(tmp_path, "/var/log/ppp-connect.log",
          bsd(8, "PAP authentication failed"))   # a syslog split-out
    result = reader(tmp_path, None)()
    assert (result["outcome"], result["source"]) == ("no_pado", "/var/log/syslog")
    assert result["read"] == ["/var/log/ppp-connect.log", "/var/log/syslog"]


def test_a_failing_journal_is_skipped(tmp_path):
    write(tmp_path, "/var/log/messages", bsd(5, "PADS: Generic-Error: busy"))
    result = reader(tmp_path, "garbage", journal_rc=1)()
    assert (result["outcome"], result["source"]) == ("pads_error", "/var/log/messages")


def test_nothing_to_read(tmp_path):
    result = reader(tmp_path, "")()
    assert result == {"outcome": None, "source": None, "read": ["journal"]}


def test_the_journal_gets_the_remaining_budget(tmp_path):
    read = reader(tmp_path, "")
    read()
    argv, timeout = read.calls[0]
    assert argv[:2] == ["journalctl", "--no-pager"] and "-t" in argv and 0 < timeout <= 0.5


def test_only_the_tail_of_a_huge_log_is_read(tmp_path):
    filler = "Nov 24 10:00:00 myhost kernel: x\n" * (ppp_logs.LOG_TAIL_BYTES // 30)
    write(tmp_path, "/var/log/syslog", bsd(30, "PAP authentication failed") + filler
          + bsd(3, "Timeout waiting for PADO packets"))
    result = reader(tmp_path, None)()
    assert result["outcome"] == "no_pado"


# ---------------------------------------------------------------- secrets and hostile text

def test_account_scrubbed_and_raw_debug_lines_never_kept(tmp_path):
    text = journal(
        # pppd with `debug` and `show-password`:
        (4, f'sent [PAP AuthReq id=0x1 user="{USER}" password="{PASSWORD}"]'),
        (4, f"Remote message: user {USER} password {PASSWORD} refused"),
        (4, "PAP authentication failed"))
    result = reader(tmp_path, text)()
    assert result["outcome"] == "auth_refused"
    assert USER not in repr(result) and PASSWORD not in repr(result)
    assert result["message"] == "user ad1…sp password *** refused"


def test_hostile_text_is_cleaned_and_capped(tmp_path):
    text = journal((2, "Remote message: \x1b[2J" + "A" * 5000), (2, "PAP authentication failed"))
    result = reader(tmp_path, text + "\x00\xff garbage line without a tag\n" * 50)()
    assert result["outcome"] == "auth_refused"
    assert "\x1b" not in result["message"] and len(result["message"]) <= ppp_logs.MAX_TEXT


def test_binary_log_file_does_not_crash(tmp_path):
    file = tmp_path / "var/log/syslog"
    file.parent.mkdir(parents=True)
    file.write_bytes(os.urandom(64 * 1024) + b"\n" + bsd(1, "PAP authentication failed").encode())
    result = reader(tmp_path, None)()
    assert result["outcome"] == "auth_refused"


def test_parse_time_formats():
    assert ppp_logs.parse_time("2026-11-24T19:00:00+0000", NOW) == NOW - 3600
    assert ppp_logs.parse_time("2026-11-24T19:00:00.123456+00:00", NOW) == pytest.approx(
        NOW - 3600 + 0.123456)
    assert ppp_logs.parse_time("Dec 31 23:59:59", NOW) < NOW   # no year: last year's December
    assert ppp_logs.parse_time("Foo 99 99:99:99", NOW) is None
