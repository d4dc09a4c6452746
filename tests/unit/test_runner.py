"""The runner: dependencies, per-check timeouts, one deadline, crashes become findings."""
from __future__ import annotations

import queue

import pytest

from diagnose.context import Context
from diagnose.model import CheckResult, CheckSpec, Status
from diagnose.runner import Runner, order


class FakeClock:
    """Time stands still until a check or a wait moves it: no test here sleeps for real.
    Checks run at once in the caller's thread; a hung check is one that takes fake time."""

    def __init__(self):
        self.t = 1000.0

    def now(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds

    def wait(self, inbox, seconds):
        try:
            return inbox.get_nowait()
        except queue.Empty:
            self.t += seconds
            raise

    def spawn(self, name, target):
        target()


def make_context(privileged=True):
    def make(deadline, results):
        return Context(profile={}, privileged=privileged, deadline=deadline, results=results)
    return make


def ok(facts=None):
    return lambda ctx: CheckResult(Status.OK, facts or {})


def test_dependencies_see_their_needs_results():
    seen = {}

    def second(ctx):
        seen.update(ctx.facts("first"))
        return CheckResult(Status.OK)
    specs = [CheckSpec("second", "", second, needs=("first",)), CheckSpec("first", "", ok({"x": 1}))]
    results = Runner(specs, make_context(), timeout=5, clock=FakeClock()).run()
    assert seen == {"x": 1} and set(results) == {"first", "second"}


def test_order_rejects_cycles_and_unknown_needs():
    with pytest.raises(ValueError, match="cycle"):
        order([CheckSpec("a", "", ok(), needs=("b",)), CheckSpec("b", "", ok(), needs=("a",))])
    with pytest.raises(ValueError, match="unknown"):
        order([CheckSpec("a", "", ok(), needs=("zzz",))])


def test_a_hung_check_times_out_and_its_dependents_still_run():
    clock = FakeClock()

    def hang(ctx):
        clock.advance(30)
        return CheckResult(Status.OK)
    specs = [CheckSpec("slow", "", hang, timeout=0.3),
             CheckSpec("after", "", lambda ctx: CheckResult(Status.OK, {"saw": ctx.status("slow").value}),
                       needs=("slow",))]
    started = clock.now()
    results = Runner(specs, make_context(), timeout=100, clock=clock).run()
    assert results["slow"].status is Status.TIMEOUT
    assert results["slow"].reason.format(**results["slow"].reason_args) == "no answer within 0.3 s"
    assert results["after"].facts == {"saw": "timeout"}
    assert clock.now() - started == 30   # the late answer, nothing waited on top of it


def test_a_check_that_never_answers_ends_at_its_deadline():
    clock = FakeClock()
    never = CheckSpec("never", "", ok(), timeout=2)
    clock.spawn = lambda name, target: None      # started, never reports
    started = clock.now()
    results = Runner([never], make_context(), timeout=100, clock=clock).run()
    assert results["never"].status is Status.TIMEOUT and clock.now() - started == 2


def test_overall_deadline_bounds_everything():
    clock = FakeClock()
    specs = [CheckSpec(f"c{i}", "", lambda ctx: (clock.advance(30), CheckResult(Status.OK))[1],
                       timeout=60) for i in range(3)]
    results = Runner(specs, make_context(), timeout=0.5, clock=clock).run()
    assert all(r.status is Status.TIMEOUT and r.reason == "overall deadline reached"
               for r in results.values())


def test_every_declared_fact_is_in_the_result_null_where_not_observed():
    """The Wine lab's flaky KeyError: under load the overall deadline cut the addressing check
    before it reported, and its result had no facts at all. Now a reader finds every declared
    fact, null (not observed) with the status and reason saying why."""
    clock = FakeClock()
    slow = CheckSpec("addressing", "", lambda ctx: (clock.advance(30), CheckResult(Status.OK, {
        "apipa": True, "dhcp_probe": {"outcome": "not_run"}}))[1], timeout=60,
        provides=("apipa", "dhcp_probe"))
    partial = CheckSpec("partial", "", ok({"seen": 1}), provides=("seen", "unseen"))
    results = Runner([slow], make_context(), timeout=0.5, clock=clock).run()
    assert results["addressing"].status is Status.TIMEOUT
    assert results["addressing"].facts == {"apipa": None, "dhcp_probe": None}
    results = Runner([partial], make_context(), timeout=5, clock=FakeClock()).run()
    assert results["partial"].facts == {"seen": 1, "unseen": None}


def test_interrupt_ends_the_run_and_marks_what_is_missing():
    clock = FakeClock()
    runner = None

    def interrupted(ctx):
        runner.interrupt()            # as the signal handler does, mid-run
        return CheckResult(Status.OK)
    specs = [CheckSpec("first", "", interrupted), CheckSpec("second", "", ok(), needs=("first",))]
    runner = Runner(specs, make_context(), timeout=5, clock=clock)
    results = runner.run()
    assert runner.interrupted and results["second"].status is Status.SKIPPED
    assert results["second"].reason == "interrupted"


def test_a_crash_is_reported_and_the_run_goes_on():
    def boom(ctx):
        raise RuntimeError("kaput")
    specs = [CheckSpec("bad", "", boom), CheckSpec("good", "", ok())]
    results = Runner(specs, make_context(), timeout=5, clock=FakeClock()).run()
    assert results["bad"].status is Status.ERROR
    assert results["bad"].reason_args == {"error": "RuntimeError: kaput"}
    assert results["good"].status is Status.OK


def test_required_privilege_is_skipped_with_reason():
    specs = [CheckSpec("raw", "", ok(), privilege="required")]
    results = Runner(specs, make_context(privileged=False), timeout=5, clock=FakeClock()).run()
    assert results["raw"].status is Status.SKIPPED
    assert results["raw"].reason == "needs administrator rights"


def test_partial_marks_every_missing_check():
    runner = Runner([CheckSpec("a", "", ok()), CheckSpec("b", "", ok())], make_context(), 5,
                    clock=FakeClock())
    runner.results["a"] = CheckResult(Status.OK)
    partial = runner.partial("interrupted")
    assert partial["b"].status is Status.SKIPPED and partial["b"].reason == "interrupted"
