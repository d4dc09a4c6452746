"""The retry policy of one report: which answers are worth another attempt, how long to pause,
when to give up. The loop is tenacity's; Retry-After is parsed by urllib3's Retry.

Retried: connection errors, timeouts, 408, 429 and 5xx (results.TRANSIENT). The pause grows
exponentially with a little jitter; a Retry-After is honoured when it is at most
max_retry_after seconds, and a longer one ends the attempts (the report stays queued). No
attempt starts with less than MIN_ATTEMPT_S left before the report's deadline, and no pause
would end past it. Pauses go through the injected clock: tests never sleep."""
from __future__ import annotations

import logging
from typing import Callable

import tenacity

from ..clock import Clock
from .post import Answer
from .results import TRANSIENT

log = logging.getLogger(__name__)

MIN_ATTEMPT_S = 0.05   # no attempt is started with less time than this left
JITTER = 0.25          # up to this fraction of the pause is added at random


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (a number or an HTTP date), None when unusable."""
    if not value:
        return None
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry
    try:
        return max(0.0, Retry().parse_retry_after(value.strip()))
    except (InvalidHeader, ValueError, OverflowError):
        return None


class Policy:
    def __init__(self, attempts: int, backoff: float, max_retry_after: float, deadline: float,
                 clock: Clock):
        self.attempts = max(attempts, 1)
        self.max_retry_after = max_retry_after
        self.deadline, self.clock = deadline, clock
        self.backoff = tenacity.wait_exponential_jitter(multiplier=backoff, jitter=backoff * JITTER,
                                                        max=max(backoff, 1.0) * 2 ** 10)
        self.pauses: dict[int, float] = {}
        self.refused_wait: float | None = None   # a Retry-After beyond max_retry_after

    def pause(self, state: tenacity.RetryCallState) -> float:
        if state.attempt_number not in self.pauses:
            answer: Answer = state.outcome.result()
            wanted = retry_after_seconds(answer.retry_after)
            pause = self.backoff(state)
            self.pauses[state.attempt_number] = pause if wanted is None else max(pause, wanted)
            if wanted is not None and wanted > self.max_retry_after:
                self.refused_wait = wanted
        return self.pauses[state.attempt_number]

    def stop(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self.attempts:
            return True
        pause = self.pause(state)
        if self.refused_wait is not None:
            return True
        return self.clock.monotonic() + pause + MIN_ATTEMPT_S > self.deadline

    def time_left(self) -> bool:
        return self.deadline - self.clock.monotonic() >= MIN_ATTEMPT_S


def run(attempt: Callable[[], Answer], policy: Policy) -> Answer:
    """Call attempt until it gives a final answer or the policy says stop; the last answer."""
    retrying = tenacity.Retrying(
        sleep=policy.clock.sleep, stop=policy.stop, wait=policy.pause,
        retry=tenacity.retry_if_result(lambda answer: answer.code in TRANSIENT),
        retry_error_callback=lambda state: state.outcome.result(),
        before_sleep=lambda state: log.debug("attempt %d: %s; pausing %.2f s", state.attempt_number,
                                             state.outcome.result().code, policy.pause(state)))
    answer = retrying(attempt)
    if policy.refused_wait is not None and answer.code in TRANSIENT:
        answer = Answer(answer.code, answer.status,
                        f"the server asked to wait {policy.refused_wait:.0f} s")
    return answer
