"""The RAS API's structures (ras.h, rasapi32.dll) with fixed-width fields, importable on any OS.

ras.h packs its structures to 4 bytes (pshpack4.h), so a handle or a ULONG_PTR after a DWORD
sits at offset 4, not 8, on Win64. Fields are spelled with fixed widths (DWORD as c_uint32,
WCHAR as c_uint16, handles and ULONG_PTR as pointer-sized), so a 64-bit Linux host lays them out
byte for byte as Win64 does: tests/unit/test_ras_dial.py checks sizes and offsets here against
the ones ras.h gives on Win64. rasapi32.dll itself is loaded only on Windows, when first called.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

DWORD = ctypes.c_uint32
WCHAR = ctypes.c_uint16
HANDLE = ctypes.c_void_p
ULONG_PTR = ctypes.c_size_t    # pointer-sized, as on Win64

# ras.h, lmcons.h
RAS_MAX_ENTRY_NAME, RAS_MAX_DEVICE_TYPE, RAS_MAX_DEVICE_NAME = 256, 16, 128
RAS_MAX_PHONE_NUMBER = RAS_MAX_CALLBACK_NUMBER = 128
UNLEN = PWLEN = 256
DNLEN = 15
MAX_PATH = 260
NO_ERROR = 0
ERROR_INVALID_HANDLE = 6
ERROR_BUFFER_TOO_SMALL = 603
REPF_ALLUSERS = 0x1
RASCS_CONNECTED, RASCS_DISCONNECTED = 0x2000, 0x2001

# RASCONNSTATE, by number: the steps of a dial as RAS reports them
RAS_STATES = {
    0: "OpenPort", 1: "PortOpened", 2: "ConnectDevice", 3: "DeviceConnected",
    4: "AllDevicesConnected", 5: "Authenticate", 6: "AuthNotify", 7: "AuthRetry",
    8: "AuthCallback", 9: "AuthChangePassword", 10: "AuthProject", 11: "AuthLinkSpeed",
    12: "AuthAck", 13: "ReAuthenticate", 14: "Authenticated", 15: "PrepareForCallback",
    16: "WaitForModemReset", 17: "WaitForCallback", 18: "Projected", 19: "StartAuthentication",
    20: "CallbackComplete", 21: "LogonNetwork", 22: "SubEntryConnected",
    23: "SubEntryDisconnected", 24: "ApplySettings", 0x1000: "Interactive",
    0x1001: "RetryAuthentication", 0x1002: "CallbackSetByCaller", 0x1003: "PasswordExpired",
    0x1004: "InvokeEapUI", RASCS_CONNECTED: "Connected", RASCS_DISCONNECTED: "Disconnected"}


def wide(length: int) -> Any:
    return WCHAR * length


def text_of(field: Any) -> str:
    """A WCHAR array's text, up to its terminating NUL."""
    return bytes(field).decode("utf-16-le", "replace").split("\0", 1)[0]


def put_text(field: Any, text: str) -> None:
    """Write text (NUL-terminated) into a WCHAR array; ValueError when it does not fit."""
    encoded = text.encode("utf-16-le")
    if len(encoded) // 2 >= len(field):
        raise ValueError(f"longer than {len(field) - 1} characters")
    ctypes.memmove(ctypes.addressof(field), encoded + b"\0\0", len(encoded) + 2)


def wipe(structure: Any) -> None:
    """Overwrite a structure's memory with zeros (a password must not linger in it)."""
    ctypes.memset(ctypes.addressof(structure), 0, ctypes.sizeof(structure))


class GUID(ctypes.Structure):
    _fields_ = [("data", ctypes.c_ubyte * 16)]


class RASENTRYNAMEW(ctypes.Structure):
    _pack_ = 4
    _fields_ = [("dwSize", DWORD), ("szEntryName", wide(RAS_MAX_ENTRY_NAME + 1)),
                ("dwFlags", DWORD), ("szPhonebookPath", wide(MAX_PATH + 1))]


class RASCONNW(ctypes.Structure):   # the Windows 7 and later layout (WINVER 0x601)
    _pack_ = 4
    _fields_ = [("dwSize", DWORD), ("hrasconn", HANDLE),
                ("szEntryName", wide(RAS_MAX_ENTRY_NAME + 1)),
                ("szDeviceType", wide(RAS_MAX_DEVICE_TYPE + 1)),
                ("szDeviceName", wide(RAS_MAX_DEVICE_NAME + 1)),
                ("szPhonebook", wide(MAX_PATH)), ("dwSubEntry", DWORD),
                ("guidEntry", GUID), ("dwFlags", DWORD), ("luid", ctypes.c_uint32 * 2),
                ("guidCorrelationId", GUID)]


class RASCONNSTATUSW(ctypes.Structure):   # the long-standing (WINVER 0x401) layout
    _pack_ = 4
    _fields_ = [("dwSize", DWORD), ("rasconnstate", ctypes.c_int32), ("dwError", DWORD),
                ("szDeviceType", wide(RAS_MAX_DEVICE_TYPE + 1)),
                ("szDeviceName", wide(RAS_MAX_DEVICE_NAME + 1)),
                ("szPhoneNumber", wide(RAS_MAX_PHONE_NUMBER + 1))]


class RASDIALPARAMSW(ctypes.Structure):   # the WINVER 0x401 layout, accepted by every later one
    _pack_ = 4
    _fields_ = [("dwSize", DWORD), ("szEntryName", wide(RAS_MAX_ENTRY_NAME + 1)),
                ("szPhoneNumber", wide(RAS_MAX_PHONE_NUMBER + 1)),
                ("szCallbackNumber", wide(RAS_MAX_CALLBACK_NUMBER + 1)),
                ("szUserName", wide(UNLEN + 1)), ("szPassword", wide(PWLEN + 1)),
                ("szDomain", wide(DNLEN + 1)), ("dwSubEntry", DWORD),
                ("dwCallbackId", ULONG_PTR)]


# RasDialFunc: VOID WINAPI (UINT unMsg, RASCONNSTATE rasconnstate, DWORD dwError). Win64 has
# one calling convention, so CFUNCTYPE (the fake library's, on Linux) lays the call out alike.
RASDIALFUNC = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)(None, ctypes.c_uint32,
                                                              ctypes.c_int32, DWORD)
NOTIFIER_RASDIALFUNC = 0


def declare(api: Any) -> Any:
    """Give rasapi32's functions the ras.h signatures (so ctypes passes 64-bit handles whole)."""
    signatures = {
        "RasEnumEntriesW": [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.POINTER(RASENTRYNAMEW),
                            ctypes.POINTER(DWORD), ctypes.POINTER(DWORD)],
        "RasEnumConnectionsW": [ctypes.POINTER(RASCONNW), ctypes.POINTER(DWORD),
                                ctypes.POINTER(DWORD)],
        "RasGetConnectStatusW": [HANDLE, ctypes.POINTER(RASCONNSTATUSW)],
        "RasGetEntryDialParamsW": [ctypes.c_wchar_p, ctypes.POINTER(RASDIALPARAMSW),
                                   ctypes.POINTER(ctypes.c_int32)],
        "RasDialW": [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.POINTER(RASDIALPARAMSW), DWORD,
                     RASDIALFUNC, ctypes.POINTER(HANDLE)],
        "RasHangUpW": [HANDLE],
    }
    for name, argtypes in signatures.items():
        function = getattr(api, name)
        function.argtypes = argtypes
        function.restype = DWORD
    return api


_API: Any = None


def rasapi32() -> Any:
    """rasapi32.dll with its signatures declared (Windows only; OSError elsewhere)."""
    global _API
    if _API is None:
        if sys.platform != "win32":
            raise OSError("rasapi32.dll exists only on Windows")
        _API = declare(ctypes.WinDLL("rasapi32.dll"))
    return _API
