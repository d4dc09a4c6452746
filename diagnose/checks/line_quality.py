"""line_quality: loss, round-trip time and jitter to the gateway and beyond it, all at once.

A series of probes (probe_series: ICMP echo, else TCP handshakes) goes to the default gateway and
to each of the profile's ping targets at the same time. What the gateway shows happens inside the
home (Wi-Fi, cable, the router); what only the targets show happens beyond it. Facts only: the
rules (rules/line-quality.yaml) say what is too much, and docs/line-quality.md says why.

A gateway whose first probes all went unanswered is watched on for a while: a router on a
link that loses most packets answers now and then, a dead one never does (a dead router is not a
lossy one, and a lossy one is not dead). As root, ARP requests go to the gateway alongside, until
its series is clean: a link that loses frames loses ARP too, while a router that is on (even hung)
answers every one; the replies also let the kernel resolve the router when its own ARP was lost.
"""
from __future__ import annotations

import time

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import arp_series, probe_series

# Why these numbers: docs/line-quality.md. 20 answered probes end a healthy series in ~0.16 s;
# a lossy one gets 40, enough to tell 30 % loss from 1-2 % without false alarms.
PLAN = probe_series.Plan(count=40, interval=0.008, wait=0.7, clean_after=20, dead_after=10,
                         fallback_after=0.25)
GATEWAY_PORTS = (80, 53)   # a home router's web page and DNS proxy; a refusal is an answer too
TARGET_PORTS = (53, 443)   # public resolvers and web hosts
# The watch of a gateway whose first probes were all lost: echoes and TCP at once, 10 ms apart,
# until WATCH_UNTIL_S after the check began (the first series is called dead after about 0.8 s,
# over TCP 1.05 s): 25 probes or more, so a link losing 84 % of round trips still shows an
# answer 99 % of the time, and the kernel's own ARP has retried once (after 1 s) for a PC that had
# not resolved the router yet. A dead router's run ends there, not at the check's deadline: a
# fault run must stay within 3 s. A router answers within milliseconds, Wi-Fi within tens: 0.2 s
# unanswered is lost. Never "dead" or "clean" early: it counts.
WATCH_PLAN = probe_series.Plan(count=150, interval=0.01, wait=0.2, clean_after=150,
                               dead_after=150, fallback_after=0.0)
WATCH_UNTIL_S = 1.5
DEADLINE_MARGIN_S = 0.05   # return this long before the runner's deadline


def lower_median(values: list[float]) -> float | None:
    values = sorted(values)
    return values[(len(values) - 1) // 2] if values else None


def summarise(gateway: dict, targets: list[dict]) -> dict:
    """Beyond the gateway: the typical answering target (the lower median), so one far host that
    is slow or lossy on its own is not taken for the line, which every target's path shares.
    Added loss and delay: what the targets show on top of the gateway."""
    alive = [t for t in targets if t["received"]]
    probed = [t for t in targets if t["sent"]]
    if alive:
        loss = lower_median([t["loss_pct"] for t in alive])
    else:   # every target probed and none answered: observed, all lost; nothing probed: unknown
        loss = 100.0 if probed else None
    rtt = lower_median([t["avg_rtt_ms"] for t in alive])

    def added(value, base):
        return round(value - base, 2) if value is not None and base is not None else None
    return {
        "targets": len(targets),
        "answering": len(alive),
        "loss_pct": loss,
        "avg_rtt_ms": rtt,
        "sent": min((t["sent"] for t in alive), default=None),
        "received": min((t["received"] for t in alive), default=None),
        "added_loss_pct": added(loss if alive else None, gateway["loss_pct"]),
        "added_rtt_ms": added(rtt, gateway["avg_rtt_ms"]),
    }


def watched(first: dict, watch: dict) -> dict:
    """The gateway's series continued by the watch, counted together."""
    sent, received = first["sent"] + watch["sent"], first["received"] + watch["received"]
    both = [one for one in (first, watch) if one["received"]]

    def pick(key, how):
        values = [one[key] for one in both if one[key] is not None]
        return round(how(values), 2) if values else None
    avg = (round(sum(one["avg_rtt_ms"] * one["received"] for one in both) / received, 2)
           if received else None)
    return {**(watch if watch["received"] or not first["received"] else first),
            "sent": sent, "received": received,
            "loss_pct": round(100.0 * (sent - received) / sent, 1) if sent else None,
            "min_rtt_ms": pick("min_rtt_ms", min), "avg_rtt_ms": avg,
            "max_rtt_ms": pick("max_rtt_ms", max), "jitter_ms": pick("jitter_ms", max),
            "stopped": "watched", "errors": first["errors"] or watch["errors"],
            "watch": {"first_sent": first["sent"], "first_received": first["received"],
                      "first_method": first["method"], "sent": watch["sent"],
                      "received": watch["received"], "method": watch["method"]}}


def _text(value) -> str:
    return "?" if value is None else f"{value:g}"


def run(ctx) -> CheckResult:
    started = time.monotonic()
    gateway = ctx.facts("route").get("gateway")
    if not gateway:
        return CheckResult(Status.SKIPPED, {"gateway": None, "targets": [], "beyond": None},
                           N_("no default gateway"))
    targets = [t for t in dict.fromkeys(ctx.profile["probes"]["ping_targets"]) if t != gateway]
    hosts = [probe_series.Host(gateway, GATEWAY_PORTS, backup_ports=GATEWAY_PORTS)]
    hosts += [probe_series.Host(target, TARGET_PORTS) for target in targets]
    deadline = ctx.deadline - DEADLINE_MARGIN_S
    arp = arp_series.start(ctx.facts("route").get("device"), gateway,
                           privileged=ctx.privileged, deadline=deadline)
    measured = probe_series.measure(hosts, PLAN, privileged=ctx.privileged, deadline=deadline)
    gateway_series, target_series = measured[0], measured[1:]
    if gateway_series["stopped"] == "clean" and arp is not None:
        arp.stop()     # the link answers every probe: nothing more to learn from ARP
    # The first probes all lost: a dead router, or a link that loses most of them. Watch on.
    if gateway_series["stopped"] == "dead" or (gateway_series["sent"]
                                               and not gateway_series["received"]):
        watch = probe_series.measure([hosts[0]], WATCH_PLAN, privileged=ctx.privileged,
                                     deadline=min(deadline, started + WATCH_UNTIL_S))[0]
        gateway_series = watched(gateway_series, watch)
    else:
        gateway_series["watch"] = None
    beyond = summarise(gateway_series, target_series)
    facts = {
        "plan": {"count": PLAN.count, "interval_ms": round(PLAN.interval * 1000),
                 "wait_ms": round(PLAN.wait * 1000)},
        "gateway": gateway_series,
        "targets": target_series,
        "beyond": beyond,
        # None: not observed. Replies are matched for the link's own round trip (see arp_series).
        "gateway_arp": (arp.stop((gateway_series["min_rtt_ms"] or 0.0) / 1000.0)
                        if arp is not None else None),
    }
    args = {"gateway_loss": _text(gateway_series["loss_pct"]),
            "gateway_rtt": _text(gateway_series["avg_rtt_ms"]),
            "beyond_loss": _text(beyond["loss_pct"]),
            "beyond_rtt": _text(beyond["avg_rtt_ms"])}
    reason = N_("gateway: {gateway_loss}% lost, {gateway_rtt} ms; "
                "beyond: {beyond_loss}% lost, {beyond_rtt} ms")
    # Measured: the status says so, whatever the loss. A lost probe is an observation, not a
    # fault: the rules (rules/line-quality.yaml) weigh it.
    return CheckResult(Status.OK, facts, reason, reason_args=args)


CHECK = CheckSpec(id="line_quality", summary="Loss, latency and jitter to the gateway and beyond",
                  run=run, needs=("route",), timeout=2.0, privilege="optional",
                  provides=("plan", "gateway", "targets", "beyond", "gateway_arp"),
                  name=N_("line quality"), position=60, digest_slot=9)
