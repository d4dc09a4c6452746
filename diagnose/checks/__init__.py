"""The checks. Each module observes one thing and declares itself as CHECK; none judges."""
from __future__ import annotations

from . import addressing, dns, gateway, interfaces, internet, pppoe, proxy, route

ALL = tuple(module.CHECK for module in
            (route, interfaces, addressing, gateway, dns, internet, proxy, pppoe))
BY_ID = {spec.id: spec for spec in ALL}
