"""How hard the property tests (hypothesis) try. Two profiles:
- quick (the default): a tenth of the examples, so the unit suite stays fast on a developer's machine;
- deep (HYPOTHESIS_PROFILE=deep, as `bash tests/run` sets it, or any run with CI set): every example.
A test states its deep count once: `@settings(max_examples=examples(300))`."""
from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("deep" if os.environ.get("CI") else "quick")
QUICK_SHARE, QUICK_MIN = 10, 10

# Speed is measured in benchmarks, never asserted in tests: hypothesis's per-example deadline
# fails property tests at random on a loaded 2-core machine (and with slower, older scapy).
settings.register_profile("deep", deadline=None)                       # 100 examples unless told
settings.register_profile("quick", deadline=None, max_examples=100 // QUICK_SHARE)


def examples(deep: int) -> int:
    """A property test's example count in the active profile, given its count in the deep one."""
    return deep if PROFILE == "deep" else max(QUICK_MIN, deep // QUICK_SHARE)


def load() -> None:
    settings.load_profile(PROFILE)
