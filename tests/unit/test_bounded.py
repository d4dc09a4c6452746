"""diagnose.bounded: uninterruptible calls waited for only until a deadline."""
import threading
import time

import pytest

from diagnose.bounded import UNFINISHED, all_within, within


def test_values_in_the_order_of_the_calls():
    assert all_within([lambda: 1, lambda: None, lambda: "x"], time.monotonic() + 30, "t") \
        == [1, None, "x"]


def test_a_call_still_running_at_the_deadline_is_unfinished_and_left_behind():
    release = threading.Event()
    stuck = within(lambda: release.wait(30), time.monotonic(), "stuck")   # deadline already here
    assert stuck is UNFINISHED
    left = [t for t in threading.enumerate() if t.name.startswith("stuck")]
    assert left and all(t.daemon for t in left)    # never keeps the process from exiting
    release.set()


def test_an_exception_is_raised_in_the_caller():
    def broken():
        raise ValueError("bad answer")
    with pytest.raises(ValueError, match="bad answer"):
        within(broken, time.monotonic() + 30, "broken")
