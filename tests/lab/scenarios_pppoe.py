"""Lab scenarios for PPPoE, stage by stage (check `pppoe`, rules/access-line.yaml).

Every scenario runs on the bridged-modem lab (`pppoe=True`: pc0 wired to the "ac" namespace, a
pppd peers file and secrets holding the canaries). Where the dialer stops after the discovery
(PADS, LCP, authentication), the lab's own access concentrator (ppp_ac.py) plays that fault and
the dialer's log (the peers file's `logfile`, in the PC's /etc/ppp) holds what pppd and its
rp-pppoe plugin write against such an AC: without --pppoe-login the log is the evidence. The live
test login against the same AC is tested in test_pppoe_login.py.

L22 (no PADO) and U26 (PADO but no session) are core scenarios (scenarios.py).
"""
from __future__ import annotations

from functools import partial

from . import netlab
from .scenario import Scenario

REFUSAL = "E=691 R=0 Account suspended: arrears"

# pppd 2.4.9 with rp-pppoe.so, as its `logfile` has them (bare messages, no timestamps).
LOG_START = ("Plugin rp-pppoe.so loaded.",
             "RP-PPPoE plugin version 3.8p compiled against pppd 2.4.9",
             "pppd 2.4.9 started by root, uid 0")
LOG_PADS_ERROR = (*LOG_START, "PADS: System-Error: Too many sessions for this account",
                  "Unable to complete PPPoE Discovery")
LOG_LCP_TIMEOUT = (*LOG_START, "PPP session is 4660",
                   f"Connected to 02:00:00:00:00:01 via interface {netlab.PC_IF}",
                   "Using interface ppp0", f"Connect: ppp0 <--> {netlab.PC_IF}",
                   "LCP: timeout sending Config-Requests", "Connection terminated.",
                   "Modem hangup")
LOG_PAP_REFUSED = (*LOG_START, "PPP session is 4660",
                   f"Connected to 02:00:00:00:00:01 via interface {netlab.PC_IF}",
                   "Using interface ppp0", f"Connect: ppp0 <--> {netlab.PC_IF}",
                   # the AC echoes the account name: it must be scrubbed like the password
                   f"Remote message: {REFUSAL} ({netlab.PPPOE_USER})",
                   "PAP authentication failed", "Modem hangup", "Connection terminated.")
LOG_CHAP_REFUSED = (*LOG_START, "PPP session is 4660", "Using interface ppp0",
                    f"Connect: ppp0 <--> {netlab.PC_IF}",
                    f"CHAP authentication failed: {REFUSAL}",
                    "CHAP authentication failed", "Modem hangup", "Connection terminated.")

LOG_TERMINATED = (*LOG_START, "PPP session is 4660", "Using interface ppp0",
                  f"Connect: ppp0 <--> {netlab.PC_IF}", "PAP authentication succeeded",
                  "local  IP address 10.67.0.2", "remote IP address 10.67.0.1",
                  "LCP terminated by peer (Administrative reset)", "Connection terminated.",
                  "Modem hangup")


def dialer_logged(lines, lab):
    lab.write_ppp_log(lines)


def ac(mode, lab, **kwargs):
    lab.start_ppp_ac(mode, **kwargs)


SCENARIOS = (
    # The dialer's adapter switched off (769) or gone, e.g. renamed (814): the user's side.
    Scenario("pppoe-adapter-disabled", "user", "U32", 3, pppoe=True,
             breaks=(("disable_pc_adapter",),)),
    Scenario("pppoe-adapter-missing", "user", "U32", 3, pppoe=True,
             breaks=(("set_pppoe_nic", "eth7"),)),
    # The AC answers PADI but its PADS refuses the session (651): the line.
    Scenario("pppoe-session-refused", "line", "L32", 4, pppoe=True,
             breaks=((partial(ac, "pads-error"),), (partial(dialer_logged, LOG_PADS_ERROR),))),
    # A session id, then silence: LCP times out (718): the line.
    Scenario("pppoe-lcp-timeout", "line", "L33", 4, pppoe=True,
             breaks=((partial(ac, "lcp-timeout"),), (partial(dialer_logged, LOG_LCP_TIMEOUT),))),
    # The account refused, with the operator's message (691): the account.
    Scenario("pppoe-pap-refused", "account", "A32", 4, pppoe=True,
             breaks=((partial(ac, "refuse", message=REFUSAL),),
                     (partial(dialer_logged, LOG_PAP_REFUSED),))),
    Scenario("pppoe-chap-refused", "account", "A32", 4, pppoe=True,
             breaks=((partial(ac, "refuse", auth="chap", message=REFUSAL),),
                     (partial(dialer_logged, LOG_CHAP_REFUSED),))),
    # The session was up, then the AC ended it (734): the line.
    Scenario("pppoe-terminated-by-peer", "line", "L34", 4, pppoe=True,
             breaks=((partial(ac, "accept"),), (partial(dialer_logged, LOG_TERMINATED),))),
    # Unprivileged, no discovery: the log alone still names the account.
    Scenario("pppoe-pap-refused-unprivileged", "account", "A32", 4, pppoe=True, unprivileged=True,
             breaks=((partial(ac, "refuse", message=REFUSAL),),
                     (partial(dialer_logged, LOG_PAP_REFUSED),))),
)
