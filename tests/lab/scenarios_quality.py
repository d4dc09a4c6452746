"""Lab scenarios for a bad line, not a dead one: loss and delay from the user-space relay.

Loss is 20 % in each direction (36 % of round trips), delay 150 ms each way (300 ms a round
trip). Why these numbers keep the scenarios from flaking: docs/line-quality.md ("The lab").
"""
from __future__ import annotations

from . import netlab, relay
from .scenario import Scenario

LOSS_EACH_WAY = 0.2
DELAY_EACH_WAY_MS = 150
# A real profile names several ping targets; with 36 % loss, the internet check's four probes to
# a single target all fail now and then (~2 %), and wan-down would then speak for the line.
EXTRA_TARGETS = (netlab.OPERATOR_DNS, netlab.PUBLIC_DNS)


def several_ping_targets(lab):
    """The lab profile with the operator's and the public resolver as ping targets too."""
    text = lab.profile_path.read_text()
    old = f"ping_targets: [{netlab.PING_TARGET}]"
    assert old in text, "the lab profile changed: update scenarios_quality"
    lab.profile_path.write_text(text.replace(
        old, f"ping_targets: [{', '.join((netlab.PING_TARGET, *EXTRA_TARGETS))}]"))


def lossy_home_link(lab):
    relay.insert(lab, "lan", loss=LOSS_EACH_WAY)


def lossy_line(lab):
    relay.insert(lab, "wan", loss=LOSS_EACH_WAY)


def slow_home_link(lab):
    relay.insert(lab, "lan", delay_ms=DELAY_EACH_WAY_MS)


def slow_line(lab):
    relay.insert(lab, "wan", delay_ms=DELAY_EACH_WAY_MS)


SCENARIOS = (
    Scenario("home-link-lossy", "home", "H52", 3, breaks=((several_ping_targets,), (lossy_home_link,))),
    Scenario("line-lossy", "line", "L52", 4, breaks=((several_ping_targets,), (lossy_line,))),
    Scenario("home-link-slow", "home", "H53", 3, breaks=((slow_home_link,),)),
    Scenario("line-slow", "line", "L53", 4, breaks=((slow_line,),)),
)
