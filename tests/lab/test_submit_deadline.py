"""diagnose submit keeps its deadline when the ticket server's name cannot be looked up: glibc's
resolver cannot be interrupted, and a silent DNS server makes it wait for as long as
resolv.conf says (here 3 x 10 s per query)."""
import time

from .netlab import OPERATOR_DNS

TOTAL_TIMEOUT_S = 10.0   # submit's default for one report (diagnose.submit.DEFAULT_TOTAL_TIMEOUT)
START_UP_S = 3.0         # the interpreter's start in a namespace on a busy machine, and the exit


def test_a_hung_name_lookup_ends_submit_by_its_deadline(lab):
    profile = lab.tmpdir / "ticket-profile.yaml"
    profile.write_text(lab.profile_path.read_text()
                       + "ticket: {url: 'https://tickets.lab-operator.test/v1/reports'}\n")
    made = lab.run_diagnose(["--profile", str(profile)])          # the report to send
    assert made.returncode == 0, made.stderr
    lab.operator_dns_dead()
    (lab.netns_etc("pc") / "resolv.conf").write_text(
        f"nameserver {OPERATOR_DNS}\noptions timeout:10 attempts:3\n")
    started = time.monotonic()
    sent = lab.run_diagnose(["--profile", str(profile), "submit"], timeout=120)
    elapsed = time.monotonic() - started
    assert sent.returncode == 75, (sent.returncode, sent.stderr)       # queued, to send later
    assert elapsed < TOTAL_TIMEOUT_S + START_UP_S, elapsed
    pending = lab.run_diagnose(["--profile", str(profile), "history"])
    assert pending.returncode == 0
