"""The checks: the registry. Each module here observes one thing and declares itself as CHECK
(a CheckSpec: id, name, needs, timeout, privilege, position on the path, digest slot); none
judges. Adding a check is adding a module: everything that lists checks derives from ALL.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..model import CheckSpec


def _discover() -> tuple[CheckSpec, ...]:
    """Every module's CHECK, from this computer outwards (by declared position), so a report
    reads the path from the adapter to the internet."""
    specs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "CHECK", None)
        if isinstance(spec, CheckSpec):
            specs.append(spec)
    return tuple(sorted(specs, key=lambda spec: (spec.position, spec.id)))


ALL = _discover()
BY_ID = {spec.id: spec for spec in ALL}
# check id -> the facts it declares: what the rule pack is validated against.
PROVIDES = {spec.id: spec.provides for spec in ALL}
PATH_ORDER = tuple(spec.id for spec in ALL)
