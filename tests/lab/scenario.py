"""One lab scenario: how it breaks the home network and the verdict it must get (the
scenarios themselves: scenarios.py and scenarios_<topic>.py)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    name: str
    side: str
    code: str
    exit_code: int
    breaks: tuple = ()                 # (method, *args) applied in order
    pppoe: bool = False                # the PC dials PPPoE through a bridged modem
    unprivileged: bool = False
    env: dict = field(default_factory=dict)
    also: tuple[str, ...] = ()         # further rules that must fire (as findings)
    never: tuple[str, ...] = ()        # rules that must not fire (a finding the evidence denies)

    def apply(self, lab) -> None:
        """Break a started lab the scenario's way (the tests and the benchmark share this)."""
        if self.pppoe:
            lab.make_pc_pppoe_dialer(access_concentrator=True)
        for step, *args in self.breaks:
            if callable(step):
                step(lab, *args)          # a topic's own way to break the lab
            else:
                getattr(lab, step)(*args)
