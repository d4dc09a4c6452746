"""One read-only property of a COM object through IDispatch, with ctypes (no pywin32/comtypes).

GetIDsOfNames looks the property up by its name and Invoke reads it with DISPATCH_PROPERTYGET.
Both sit in IDispatch's slots (5 and 6), the same in every automation object, so no interface's
own vtable layout is assumed and a wrong slot can never call one of its setters. Importable on
any OS (fixed-width fields, the name passed as UTF-16): tests/unit/test_com_dispatch.py drives
it through a fake object; ole32 is loaded only on Windows.
"""
from __future__ import annotations

import ctypes
import sys
import uuid
from typing import Any

HRESULT = ctypes.c_int32
PROTOTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)   # Win64: one calling convention
SLOT_RELEASE, SLOT_GET_IDS_OF_NAMES, SLOT_INVOKE = 2, 5, 6
DISPATCH_PROPERTYGET = 2
COINIT_MULTITHREADED = 0
CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER = 0x1, 0x4
S_OK, S_FALSE = 0, 1
VT_I4, VT_BOOL = 3, 11
IID_IDISPATCH = "00020400-0000-0000-C000-000000000046"
IID_NULL = "00000000-0000-0000-0000-000000000000"


class GUID(ctypes.Structure):
    _fields_ = [("data", ctypes.c_ubyte * 16)]

    @classmethod
    def of(cls, text: str) -> "GUID":
        return cls.from_buffer_copy(uuid.UUID(text).bytes_le)


class DISPPARAMS(ctypes.Structure):
    _fields_ = [("rgvarg", ctypes.c_void_p), ("rgdispidNamedArgs", ctypes.c_void_p),
                ("cArgs", ctypes.c_uint32), ("cNamedArgs", ctypes.c_uint32)]


class VARIANT(ctypes.Structure):   # vt, three reserved WORDs, then the value (16 bytes on Win64)
    _fields_ = [("vt", ctypes.c_uint16), ("reserved", ctypes.c_uint16 * 3),
                ("value", ctypes.c_ubyte * 16)]


def _method(obj: int, slot: int, *argtypes: Any) -> Any:
    vtable = ctypes.cast(ctypes.c_void_p(obj), ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p)))
    return PROTOTYPE(HRESULT, ctypes.c_void_p, *argtypes)(vtable.contents[slot])


def _check(hresult: int, what: str) -> None:
    if hresult < 0:
        raise OSError(hresult & 0xFFFFFFFF, f"{what} failed (0x{hresult & 0xFFFFFFFF:08X})")


def get_property(obj: int, name: str) -> int | bool:
    """The named property of an IDispatch object: an integer (VT_I4) or a boolean (VT_BOOL);
    OSError for a failed call or another type."""
    encoded = name.encode("utf-16-le") + b"\0\0"
    text = ctypes.create_string_buffer(encoded, len(encoded))
    names = (ctypes.c_void_p * 1)(ctypes.addressof(text))
    dispid, nothing = ctypes.c_int32(), GUID.of(IID_NULL)
    get_ids = _method(obj, SLOT_GET_IDS_OF_NAMES, ctypes.c_void_p, ctypes.c_void_p,
                      ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)
    _check(get_ids(obj, ctypes.addressof(nothing), ctypes.addressof(names), 1, 0,
                   ctypes.addressof(dispid)), f"GetIDsOfNames({name})")
    params, result = DISPPARAMS(), VARIANT()
    invoke = _method(obj, SLOT_INVOKE, ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32,
                     ctypes.c_uint16, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                     ctypes.c_void_p)
    _check(invoke(obj, dispid.value, ctypes.addressof(nothing), 0, DISPATCH_PROPERTYGET,
                  ctypes.addressof(params), ctypes.addressof(result), None, None),
           f"Invoke({name})")
    if result.vt == VT_I4:
        return ctypes.c_int32.from_buffer(result.value).value
    if result.vt == VT_BOOL:
        return ctypes.c_int16.from_buffer(result.value).value != 0
    raise OSError(0, f"{name}: a value of VARIANT type {result.vt}, not a number")


def read_property(clsid: str, name: str, ole32: Any = None) -> int | bool:
    """Create the COM object `clsid` (asking for IDispatch), read its property `name`, release it."""
    if ole32 is None:
        if sys.platform != "win32":
            raise OSError(0, "COM exists only on Windows")
        ole32 = ctypes.WinDLL("ole32.dll")
    initialized = ole32.CoInitializeEx(None, COINIT_MULTITHREADED) in (S_OK, S_FALSE)
    try:
        obj = ctypes.c_void_p()
        klass, interface = GUID.of(clsid), GUID.of(IID_IDISPATCH)
        _check(ole32.CoCreateInstance(ctypes.byref(klass), None,
                                      CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER,
                                      ctypes.byref(interface), ctypes.byref(obj)),
               "CoCreateInstance")
        if not obj.value:
            raise OSError(0, "CoCreateInstance gave no object")
        try:
            return get_property(obj.value, name)
        finally:
            _method(obj.value, SLOT_RELEASE)(obj.value)
    finally:
        if initialized:
            ole32.CoUninitialize()
