"""The checks. Each module here observes one thing and declares itself as CHECK; none judges."""
from __future__ import annotations

import importlib
import pkgutil

from ..model import CheckSpec

# From this computer outwards: the order in which reports list the checks (as far as their needs
# allow), so a person reads the path from the adapter to the internet. A new check not named here
# comes last.
PATH_ORDER = ("interfaces", "wifi", "addressing", "ip_settings", "route", "firewall", "paths", "gateway", "line_quality", "router",
              "pppoe", "dns", "dns_hijack", "lookup", "internet", "path_mtu", "ipv6", "proxy")


def _discover() -> tuple[CheckSpec, ...]:
    specs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "CHECK", None)
        if isinstance(spec, CheckSpec):
            specs.append(spec)
    place = {check: index for index, check in enumerate(PATH_ORDER)}
    return tuple(sorted(specs, key=lambda spec: place.get(spec.id, len(place))))


ALL = _discover()
BY_ID = {spec.id: spec for spec in ALL}
# check id -> the facts it declares: what the rule pack is validated against.
PROVIDES = {spec.id: spec.provides for spec in ALL}
