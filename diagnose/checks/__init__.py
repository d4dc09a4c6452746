"""The checks. Each module here observes one thing and declares itself as CHECK; none judges."""
from __future__ import annotations

import importlib
import pkgutil

from ..model import CheckSpec


def _discover() -> tuple[CheckSpec, ...]:
    specs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "CHECK", None)
        if isinstance(spec, CheckSpec):
            specs.append(spec)
    return tuple(specs)


ALL = _discover()
BY_ID = {spec.id: spec for spec in ALL}
