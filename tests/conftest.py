"""Suite-wide settings."""
from hypothesis import settings

# Speed is measured in benchmarks, never asserted in tests: hypothesis's per-example deadline
# fails property tests at random on a loaded 2-core machine (and with slower, older scapy).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")
