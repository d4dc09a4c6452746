"""Reading a COM property through IDispatch (platform/com_dispatch.py) from a fake object: a
vtable of C function pointers, as a COM object is laid out, whose GetIDsOfNames and Invoke read
the caller's memory (the UTF-16 name, DISPPARAMS, the VARIANT) as Windows would. And the
firewall's profiles in force, mapped from INetFwPolicy2.CurrentProfileTypes' bit mask."""
from __future__ import annotations

import ctypes

import pytest

from diagnose.platform import NotObserved, com_dispatch, windows

HRESULT = ctypes.c_int32
DISP_E_UNKNOWNNAME = -2147352570   # 0x80020006


class FakeDispatch:
    """An IDispatch object with one property, CurrentProfileTypes (dispid 1)."""

    def __init__(self, value, vt=com_dispatch.VT_I4):
        self.value, self.vt, self.calls, self.released = value, vt, [], 0
        proto = ctypes.CFUNCTYPE
        unused = proto(HRESULT, ctypes.c_void_p)(lambda this: -1)
        self.methods = [
            unused, unused,
            proto(HRESULT, ctypes.c_void_p)(self._release),
            unused, unused,
            proto(HRESULT, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32,
                  ctypes.c_uint32, ctypes.c_void_p)(self._get_ids),
            proto(HRESULT, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32,
                  ctypes.c_uint16, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                  ctypes.c_void_p)(self._invoke)]
        self.vtable = (ctypes.c_void_p * 7)(*[ctypes.cast(m, ctypes.c_void_p) for m in self.methods])
        self.object = ctypes.c_void_p(ctypes.addressof(self.vtable))   # *object -> vtable
        self.address = ctypes.addressof(self.object)

    def _release(self, this):
        self.released += 1
        return 0

    def _get_ids(self, this, riid, names, count, lcid, dispids):
        name_at = ctypes.c_void_p.from_address(names).value
        units = []   # an LPOLESTR: UTF-16 code units up to the NUL
        while (unit := ctypes.c_uint16.from_address(name_at + 2 * len(units)).value) != 0:
            units.append(unit)
        name = b"".join(u.to_bytes(2, "little") for u in units).decode("utf-16-le")
        self.calls.append(("GetIDsOfNames", name, count))
        if name != "CurrentProfileTypes":
            return DISP_E_UNKNOWNNAME
        ctypes.c_int32.from_address(dispids).value = 1
        return 0

    def _invoke(self, this, dispid, riid, lcid, flags, params, result, excepinfo, argerr):
        self.calls.append(("Invoke", dispid, flags,
                           ctypes.c_uint32.from_address(params + 16).value))   # cArgs
        ctypes.c_uint16.from_address(result).value = self.vt
        ctypes.c_int32.from_address(result + 8).value = self.value
        return 0


def test_a_property_is_read_by_name_as_a_property_get():
    fake = FakeDispatch(0x2 | 0x4)
    assert com_dispatch.get_property(fake.address, "CurrentProfileTypes") == 6
    assert fake.calls == [("GetIDsOfNames", "CurrentProfileTypes", 1),
                          ("Invoke", 1, com_dispatch.DISPATCH_PROPERTYGET, 0)]


def test_an_unknown_name_or_an_odd_type_is_an_error_not_a_guess():
    fake, odd = FakeDispatch(1), FakeDispatch(1, vt=8)   # alive while their memory is used
    with pytest.raises(OSError, match="0x80020006"):
        com_dispatch.get_property(fake.address, "FirewallEnabled")
    with pytest.raises(OSError, match="VARIANT type 8"):
        com_dispatch.get_property(odd.address, "CurrentProfileTypes")


def test_read_property_creates_reads_releases_and_uninitializes():
    fake = FakeDispatch(0x1)
    seen = []

    class Ole32:
        def CoInitializeEx(self, reserved, mode):
            seen.append(("init", mode))
            return 0

        def CoCreateInstance(self, clsid, outer, context, iid, out):
            seen.append(("create", bytes(clsid._obj), bytes(iid._obj)))
            out._obj.value = fake.address
            return 0

        def CoUninitialize(self):
            seen.append(("uninit",))
    value = com_dispatch.read_property("E2B3C97F-6AE1-41AC-817A-F6F92166D7DD",
                                       "CurrentProfileTypes", ole32=Ole32())
    assert value == 1 and fake.released == 1
    import uuid
    assert seen == [("init", 0), ("create",
                                  uuid.UUID("E2B3C97F-6AE1-41AC-817A-F6F92166D7DD").bytes_le,
                                  uuid.UUID(com_dispatch.IID_IDISPATCH).bytes_le), ("uninit",)]


def test_without_com_it_is_an_error():
    if com_dispatch.sys.platform == "win32":
        pytest.skip("COM exists here")
    with pytest.raises(OSError, match="only on Windows"):
        com_dispatch.read_property("E2B3C97F-6AE1-41AC-817A-F6F92166D7DD", "CurrentProfileTypes")


RAW = {name: {"local": {"EnableFirewall": 1, "DefaultOutboundAction": 1 if name == "public"
                        else 0}, "policy": None} for name in ("domain", "private", "public")}


@pytest.mark.parametrize("current, active, reason, drops", [
    ({"current_profile_types": 0x2}, ("private",), None, False),     # home network: private
    ({"current_profile_types": 0x4}, ("public",), None, True),       # public blocks outbound
    ({"current_profile_types": 0x3}, ("domain", "private"), None, False),
    (NotObserved("OSError: CoCreateInstance failed (0x80040154)", "firewall_current"), None,
     "OSError: CoCreateInstance failed (0x80040154)", True),         # unknown: any may be
])
def test_the_profiles_in_force(current, active, reason, drops):
    from diagnose.checks import firewall
    from tests.unit.test_platform_windows import context
    from tests.unit.test_platform_windows_more import with_parts
    parts = {"firewall_registry": RAW}
    if isinstance(current, NotObserved):
        parts["errors"] = {"firewall_current": current.reason}
        parts["firewall_current"] = None
    else:
        parts["firewall_current"] = current
    ctx = context(with_parts(**parts))
    seen = ctx.system.local_firewall()
    assert (seen.active, seen.active_reason) == (active, reason)
    ruleset = firewall._ruleset(ctx)
    assert ruleset["active"] == (list(active) if active else None)
    assert ruleset["output_drops"] is drops


def test_a_recorded_snapshot_without_the_current_profiles_says_so():
    firewall = windows.map_firewall(RAW, NotObserved("firewall_current: not in this snapshot"))
    assert firewall.active is None and "not in this snapshot" in firewall.active_reason
