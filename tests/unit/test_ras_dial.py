"""The Windows test dial (platform/ras_dial.py) against a fake rasapi32, and the RAS structures'
Win64 layout.

Wine's RAS is a stub, and no real Windows runs here. What is proven: the structures lay out as
ras.h does on Win64 (pack 4: sizes and offsets below, worked out from the header's field list),
and the dial drives rasapi32 through real ctypes calls: the fake's functions are C function
pointers that read the caller's memory at those Win64 offsets, not through our Structure
classes, and call the RasDialFunc notifier from another thread as RAS does. Not proven: that a
real Windows RAS answers as the fake does (docs/platforms.md).
"""
from __future__ import annotations

import ctypes
import json
import threading
import time

import pytest

from diagnose.platform import ras_api, ras_dial

DWORD = ctypes.c_uint32
USER, PASSWORD = "CANARY-RAS-USER-07551234", "CANARY-RAS-PASSWORD-5f3e"
ENTRY = "宽带连接"
HANDLE_VALUE = 0x5A5A0001
# ras.h on Win64 (pshpack4.h: 4-byte packing; WCHAR 2 bytes; a handle or ULONG_PTR 8 bytes)
WIN64_SIZES = {"RASDIALPARAMSW": 2108, "RASCONNW": 1388, "RASCONNSTATUSW": 564,
               "RASENTRYNAMEW": 1048}
WIN64_OFFSETS = {
    "RASDIALPARAMSW": {"dwSize": 0, "szEntryName": 4, "szPhoneNumber": 518,
                       "szCallbackNumber": 776, "szUserName": 1034, "szPassword": 1548,
                       "szDomain": 2062, "dwSubEntry": 2096, "dwCallbackId": 2100},
    "RASCONNW": {"dwSize": 0, "hrasconn": 4, "szEntryName": 12, "szDeviceType": 526,
                 "szDeviceName": 560, "szPhonebook": 818, "dwSubEntry": 1340, "guidEntry": 1344,
                 "dwFlags": 1360, "luid": 1364, "guidCorrelationId": 1372},
    "RASCONNSTATUSW": {"dwSize": 0, "rasconnstate": 4, "dwError": 8, "szDeviceType": 12,
                       "szDeviceName": 46, "szPhoneNumber": 304},
    "RASENTRYNAMEW": {"dwSize": 0, "szEntryName": 4, "dwFlags": 520, "szPhonebookPath": 524},
}
PARAMS = WIN64_OFFSETS["RASDIALPARAMSW"]


@pytest.mark.parametrize("name", sorted(WIN64_SIZES))
def test_structures_have_the_win64_layout(name):
    structure = getattr(ras_api, name)
    assert ctypes.sizeof(structure) == WIN64_SIZES[name]
    assert {field: getattr(structure, field).offset
            for field, _ in structure._fields_} == WIN64_OFFSETS[name]


def _read_text(address: int, chars: int) -> str:
    return ctypes.string_at(address, chars * 2).decode("utf-16-le").split("\0", 1)[0]


def _write_text(address: int, text: str) -> None:
    data = text.encode("utf-16-le") + b"\0\0"
    ctypes.memmove(address, data, len(data))


class FakeRasapi32:
    """rasapi32 as C function pointers; script: the (state, error) notifications RasDial
    sends, from another thread, once dialed; `hold`: the dial never ends by itself."""

    def __init__(self, script, *, saved=True, dial_error=0, hold=False):
        self.script, self.saved, self.dial_error, self.hold = script, saved, dial_error, hold
        self.seen: dict = {}
        self.hung_up = threading.Event()
        self.lock = threading.Lock()
        self.calls: list[str] = []
        proto = ctypes.CFUNCTYPE
        self.RasGetEntryDialParamsW = proto(DWORD, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_void_p)(self._get_params)
        self.RasDialW = proto(DWORD, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, DWORD,
                              ctypes.c_void_p, ctypes.c_void_p)(self._dial)
        self.RasGetConnectStatusW = proto(DWORD, ctypes.c_void_p, ctypes.c_void_p)(self._status)
        self.RasHangUpW = proto(DWORD, ctypes.c_void_p)(self._hang_up)
        self.RasEnumEntriesW = proto(DWORD)(lambda: 0)
        self.RasEnumConnectionsW = proto(DWORD)(lambda: 0)

    def _get_params(self, phonebook, params, saved):
        self.calls.append("RasGetEntryDialParamsW")
        self.seen["get_size"] = DWORD.from_address(params).value
        self.seen["get_entry"] = _read_text(params + PARAMS["szEntryName"], 257)
        _write_text(params + PARAMS["szUserName"], USER)
        if self.saved:   # Windows hands back a handle to the saved password, not the password
            _write_text(params + PARAMS["szPassword"], "*" * 16)
        ctypes.c_int32.from_address(saved).value = int(self.saved)
        return 0

    def _dial(self, extensions, phonebook, params, notifier_type, notifier, handle):
        self.calls.append("RasDialW")
        self.seen.update(size=DWORD.from_address(params).value, notifier_type=notifier_type,
                         entry=_read_text(params + PARAMS["szEntryName"], 257),
                         user=_read_text(params + PARAMS["szUserName"], 257),
                         password=_read_text(params + PARAMS["szPassword"], 257))
        ctypes.c_void_p.from_address(handle).value = HANDLE_VALUE
        callback = ctypes.cast(ctypes.c_void_p(notifier), ras_api.RASDIALFUNC)

        def notify():   # as RAS: no notification once RasHangUp has returned
            for state, error in self.script:
                with self.lock:
                    if self.hung_up.is_set():
                        return
                    callback(0xCCCD, state, error)
                time.sleep(0.005)
        threading.Thread(target=notify, daemon=True).start()
        return self.dial_error

    def _status(self, handle, status):
        self.calls.append("RasGetConnectStatusW")
        return ras_api.ERROR_INVALID_HANDLE if self.hung_up.is_set() else 0

    def _hang_up(self, handle):
        self.calls.append("RasHangUpW")
        self.seen["hung_up_handle"] = handle
        with self.lock:
            self.hung_up.set()
        return 0


@pytest.fixture
def fake(monkeypatch):
    def make(script, **kwargs):
        api = ras_api.declare(FakeRasapi32(script, **kwargs))
        monkeypatch.setattr(ras_api, "_API", api)
        return api
    return make


def dial(budget=3.0, password=PASSWORD):
    return ras_dial.dial(ENTRY, password=password, budget=budget)


NO_PADO = [(0, 0), (1, 0), (2, 0), (2, 651)]


def test_no_pado_reports_the_states_the_number_and_hangs_up(fake):
    api = fake(NO_PADO)
    attempt = dial()
    facts = attempt.facts
    assert (facts["outcome"], facts["step"], facts["ras_error"]) == ("no_pado", "PADI", 651)
    assert facts["states"] == ["OpenPort", "PortOpened", "ConnectDevice"]
    assert facts["hung_up"] is True and api.seen["hung_up_handle"] == HANDLE_VALUE
    # the fake read our memory at the Win64 offsets: what we put there is what RAS gets
    assert api.seen["get_size"] == api.seen["size"] == WIN64_SIZES["RASDIALPARAMSW"]
    assert api.seen["get_entry"] == api.seen["entry"] == ENTRY
    assert api.seen["notifier_type"] == 0 and api.seen["user"] == USER
    assert api.seen["password"] == PASSWORD and facts["credentials"] == "typed"
    assert attempt.user == USER


def test_account_refused_is_691(fake):
    fake([(0, 0), (2, 0), (3, 0), (4, 0), (5, 0), (5, 691)])
    facts = dial().facts
    assert (facts["outcome"], facts["step"], facts["ras_error"]) == ("auth_refused", "auth", 691)
    assert facts["states"][-1] == "Authenticate"


def test_a_connected_test_session_is_hung_up_at_once(fake):
    api = fake([(0, 0), (2, 0), (5, 0), (14, 0), (18, 0), (0x2000, 0)])
    facts = dial().facts
    assert (facts["outcome"], facts["step"]) == ("connected", "Connected")
    assert facts["hung_up"] is True and "RasHangUpW" in api.calls


def test_the_saved_password_is_used_when_none_is_typed(fake):
    api = fake(NO_PADO)
    facts = dial(password=None).facts
    assert facts["credentials"] == "saved" and api.seen["password"] == "*" * 16


def test_no_saved_password_and_none_typed_dials_nothing(fake):
    api = fake(NO_PADO, saved=False)
    facts = dial(password=None).facts
    assert facts["outcome"] == "not_run" and "RasDialW" not in api.calls
    assert "no password saved" in facts["reason"]


def test_the_deadline_ends_the_dial_and_still_hangs_up(fake):
    api = fake([(0, 0), (1, 0), (2, 0)])   # discovery never answers, RAS keeps trying
    started = time.monotonic()
    facts = dial(budget=1.0).facts
    assert (facts["outcome"], facts["step"], facts["ras_error"]) == ("timeout", "ConnectDevice",
                                                                     None)
    assert facts["hung_up"] is True and "RasHangUpW" in api.calls
    assert time.monotonic() - started <= 1.0 + 0.2    # the budget holds the hang-up too


def test_rasdial_failing_at_once_with_a_handle_is_hung_up(fake):
    api = fake([], dial_error=633)    # the port is in use
    facts = dial().facts
    assert (facts["outcome"], facts["ras_error"]) == ("failed", 633)
    assert "RasHangUpW" in api.calls and facts["hung_up"] is True


def test_ctrl_c_during_the_dial_still_hangs_up(fake, monkeypatch):
    api = fake([(0, 0), (2, 0)])

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(ras_dial, "_follow", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dial()
    assert "RasHangUpW" in api.calls


def test_the_password_buffer_is_wiped_after_the_dial(fake, monkeypatch):
    fake(NO_PADO)
    wiped = []
    original = ras_api.wipe

    def wipe(structure):
        before = ras_api.text_of(structure.szPassword)
        original(structure)
        wiped.append((before, bytes(structure)))
    monkeypatch.setattr(ras_api, "wipe", wipe)
    dial()
    (before, after), = wiped
    assert before == PASSWORD and after == bytes(len(after))


def test_neither_half_of_the_account_is_in_the_facts(fake):
    fake(NO_PADO)
    dumped = json.dumps(dial().facts, ensure_ascii=False)
    assert PASSWORD not in dumped and USER not in dumped
    assert '"user_hint": "CAN…34"' in dumped


def test_without_rasapi32_the_dial_is_an_error_not_a_crash(monkeypatch):
    monkeypatch.setattr(ras_api, "_API", None)
    monkeypatch.setattr(ras_api.sys, "platform", "linux")
    facts = dial().facts
    assert facts["outcome"] == "error" and "only on Windows" in facts["error"]


# ---- the pppoe check: --pppoe-login on Windows dials the broadband entry ----------------------

def windows_pppoe(options, snapshot_parts=None):
    from tests.unit.test_platform_windows_more import RAS_ENTRIES, pppoe_on_windows, with_parts
    snapshot = with_parts(**{"ras_entries": RAS_ENTRIES, "ras_connections": [],
                             "ras_events": [], **(snapshot_parts or {})})
    snapshot["adapters"] = [a for a in snapshot["adapters"] if a["friendly_name"] != ENTRY]
    from diagnose.platform import windows
    original = windows.WindowsBackend.test_dial

    def live_dial(self, entry, password, budget):   # a recorded snapshot, a live (fake) RAS
        self._live = True
        try:
            return original(self, entry, password, budget)
        finally:
            self._live = False
    return pppoe_on_windows(snapshot, options=options, test_dial=live_dial)


def test_pppoe_login_on_windows_dials_and_the_rules_name_windows_number(fake):
    from diagnose.checks import BY_ID
    from diagnose.engine import derive, pack
    from diagnose.model import CheckResult, Status
    api = fake([(0, 0), (2, 0), (5, 0), (5, 691)])
    result = windows_pppoe({"pppoe_login": True, "pppoe_password": PASSWORD})
    login = result.facts["login"]
    assert (login["outcome"], login["ras_error"], login["entry"]) == ("auth_refused", 691, ENTRY)
    assert api.seen["password"] == PASSWORD and login["hung_up"] is True
    dumped = json.dumps([result.facts, result.reason, result.reason_args], ensure_ascii=False)
    assert PASSWORD not in dumped and USER not in dumped
    assert USER in result.sensitive["pppoe_users"] and PASSWORD in result.sensitive["secrets"]
    rules = pack.load(None, set(BY_ID))
    seen = derive.apply(rules.derivations, {"pppoe": CheckResult(Status.OK, result.facts)})
    assert (seen["pppoe"].facts["stage"], seen["pppoe"].facts["stage_source"],
            seen["pppoe"].facts["windows_error"]) == ("auth_refused", "login", 691)


def test_pppoe_login_on_windows_no_pado_names_the_number_windows_reported(fake):
    from diagnose.checks import BY_ID
    from diagnose.engine import derive, pack
    from diagnose.model import CheckResult, Status
    fake([(0, 0), (2, 0), (2, 815)])
    result = windows_pppoe({"pppoe_login": True, "pppoe_password": PASSWORD})
    rules = pack.load(None, set(BY_ID))
    seen = derive.apply(rules.derivations, {"pppoe": CheckResult(Status.OK, result.facts)})
    assert (seen["pppoe"].facts["stage"], seen["pppoe"].facts["windows_error"]) == ("no_pado", 815)


def test_pppoe_login_on_windows_not_asked_dials_nothing(fake):
    api = fake(NO_PADO)
    result = windows_pppoe({})
    assert result.facts["login"] == {"outcome": "not_run",
                                     "reason": "not asked for (--pppoe-login)"}
    assert api.calls == []


def test_pppoe_login_on_windows_without_a_pppoe_entry(fake):
    api = fake(NO_PADO)
    result = windows_pppoe({"pppoe_login": True}, {"ras_entries": [
        {"name": "公司VPN", "all_users": False, "phonebook": {"Type": "2"}}]})
    assert result.facts["login"]["outcome"] == "not_run" and api.calls == []


def test_pppoe_login_on_windows_with_unreadable_entries_says_why(fake):
    api = fake(NO_PADO)
    result = windows_pppoe({"pppoe_login": True}, {"ras_entries": None, "errors": {
        "ras_entries": "OSError: RasEnumEntriesW failed (632)"}})
    login = result.facts["login"]
    assert login["outcome"] == "not_run" and "RasEnumEntriesW failed (632)" in login["reason"]
    assert api.calls == []
