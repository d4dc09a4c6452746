"""The raw snapshot of a Windows machine from the IP Helper API and the registry (ctypes).

Shapes follow the Win32 structures (iptypes.h, netioapi.h, x64 layout); values stay raw (enum
numbers, bit flags) and windows.py maps them to facts. Never parses console tools' output.
"""
from __future__ import annotations

import sys

assert sys.platform == "win32", "Windows only"  # for mypy: this module is Windows only

import ctypes  # noqa: E402
import ipaddress  # noqa: E402
from ctypes import wintypes  # noqa: E402
from typing import Any  # noqa: E402

AF_UNSPEC, AF_INET, AF_INET6 = 0, 2, 23
GAA_FLAG_INCLUDE_PREFIX = 0x10
GAA_FLAG_INCLUDE_GATEWAYS = 0x80
ERROR_BUFFER_OVERFLOW = 111
NO_ERROR = 0

ULONG, DWORD, ULONG64, UINT8 = ctypes.c_ulong, ctypes.c_ulong, ctypes.c_uint64, ctypes.c_ubyte


class SOCKADDR(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 26)]


class SOCKET_ADDRESS(ctypes.Structure):
    _fields_ = [("lpSockaddr", ctypes.POINTER(SOCKADDR)), ("iSockaddrLength", ctypes.c_int)]


class SOCKADDR_INET(ctypes.Structure):   # the union (28 bytes, 4-aligned), read by family
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_ushort), ("data", ctypes.c_ulong * 6)]


class GUID(ctypes.Structure):
    _fields_ = [("data", ctypes.c_ubyte * 16)]


class IP_ADAPTER_UNICAST_ADDRESS(ctypes.Structure):
    pass


IP_ADAPTER_UNICAST_ADDRESS._fields_ = [
    ("Length", ULONG), ("Flags", DWORD), ("Next", ctypes.POINTER(IP_ADAPTER_UNICAST_ADDRESS)),
    ("Address", SOCKET_ADDRESS), ("PrefixOrigin", ctypes.c_int), ("SuffixOrigin", ctypes.c_int),
    ("DadState", ctypes.c_int), ("ValidLifetime", ULONG), ("PreferredLifetime", ULONG),
    ("LeaseLifetime", ULONG), ("OnLinkPrefixLength", UINT8)]


class IP_ADAPTER_SIMPLE_ADDRESS(ctypes.Structure):   # DNS server, gateway, anycast, multicast
    pass


IP_ADAPTER_SIMPLE_ADDRESS._fields_ = [
    ("Length", ULONG), ("Reserved", DWORD), ("Next", ctypes.POINTER(IP_ADAPTER_SIMPLE_ADDRESS)),
    ("Address", SOCKET_ADDRESS)]


class IP_ADAPTER_ADDRESSES(ctypes.Structure):
    pass


IP_ADAPTER_ADDRESSES._fields_ = [
    ("Length", ULONG), ("IfIndex", DWORD), ("Next", ctypes.POINTER(IP_ADAPTER_ADDRESSES)),
    ("AdapterName", ctypes.c_char_p),
    ("FirstUnicastAddress", ctypes.POINTER(IP_ADAPTER_UNICAST_ADDRESS)),
    ("FirstAnycastAddress", ctypes.c_void_p), ("FirstMulticastAddress", ctypes.c_void_p),
    ("FirstDnsServerAddress", ctypes.POINTER(IP_ADAPTER_SIMPLE_ADDRESS)),
    ("DnsSuffix", ctypes.c_wchar_p), ("Description", ctypes.c_wchar_p),
    ("FriendlyName", ctypes.c_wchar_p), ("PhysicalAddress", ctypes.c_ubyte * 8),
    ("PhysicalAddressLength", ULONG), ("Flags", ULONG), ("Mtu", ULONG), ("IfType", DWORD),
    ("OperStatus", ctypes.c_int), ("Ipv6IfIndex", DWORD), ("ZoneIndices", ULONG * 16),
    ("FirstPrefix", ctypes.c_void_p), ("TransmitLinkSpeed", ULONG64),
    ("ReceiveLinkSpeed", ULONG64), ("FirstWinsServerAddress", ctypes.c_void_p),
    ("FirstGatewayAddress", ctypes.POINTER(IP_ADAPTER_SIMPLE_ADDRESS)),
    ("Ipv4Metric", ULONG), ("Ipv6Metric", ULONG), ("Luid", ULONG64),
    ("Dhcpv4Server", SOCKET_ADDRESS), ("CompartmentId", ULONG), ("NetworkGuid", GUID),
    ("ConnectionType", ctypes.c_int), ("TunnelType", ctypes.c_int),
    ("Dhcpv6Server", SOCKET_ADDRESS), ("Dhcpv6ClientDuid", ctypes.c_ubyte * 130),
    ("Dhcpv6ClientDuidLength", ULONG), ("Dhcpv6Iaid", ULONG), ("FirstDnsSuffix", ctypes.c_void_p)]


class MIB_IF_ROW2(ctypes.Structure):
    _fields_ = [
        ("InterfaceLuid", ULONG64), ("InterfaceIndex", ULONG), ("InterfaceGuid", GUID),
        ("Alias", ctypes.c_wchar * 257), ("Description", ctypes.c_wchar * 257),
        ("PhysicalAddressLength", ULONG), ("PhysicalAddress", ctypes.c_ubyte * 32),
        ("PermanentPhysicalAddress", ctypes.c_ubyte * 32), ("Mtu", ULONG), ("Type", ULONG),
        ("TunnelType", ctypes.c_int), ("MediaType", ctypes.c_int),
        ("PhysicalMediumType", ctypes.c_int), ("AccessType", ctypes.c_int),
        ("DirectionType", ctypes.c_int), ("InterfaceAndOperStatusFlags", ctypes.c_ubyte),
        ("OperStatus", ctypes.c_int), ("AdminStatus", ctypes.c_int),
        ("MediaConnectState", ctypes.c_int), ("NetworkGuid", GUID),
        ("ConnectionType", ctypes.c_int), ("TransmitLinkSpeed", ULONG64),
        ("ReceiveLinkSpeed", ULONG64), ("Counters", ULONG64 * 18)]


assert ctypes.sizeof(MIB_IF_ROW2) == 1352, "x64 layout of MIB_IF_ROW2"


class MIB_IF_TABLE2(ctypes.Structure):
    _fields_ = [("NumEntries", ULONG), ("Table", MIB_IF_ROW2 * 1)]


class IP_ADDRESS_PREFIX(ctypes.Structure):
    _fields_ = [("Prefix", SOCKADDR_INET), ("PrefixLength", UINT8)]


class MIB_IPFORWARD_ROW2(ctypes.Structure):
    _fields_ = [
        ("InterfaceLuid", ULONG64), ("InterfaceIndex", ULONG),
        ("DestinationPrefix", IP_ADDRESS_PREFIX), ("NextHop", SOCKADDR_INET),
        ("SitePrefixLength", UINT8), ("ValidLifetime", ULONG), ("PreferredLifetime", ULONG),
        ("Metric", ULONG), ("Protocol", ctypes.c_int), ("Loopback", ctypes.c_ubyte),
        ("AutoconfigureAddress", ctypes.c_ubyte), ("Publish", ctypes.c_ubyte),
        ("Immortal", ctypes.c_ubyte), ("Age", ULONG), ("Origin", ctypes.c_int)]


assert ctypes.sizeof(MIB_IPFORWARD_ROW2) == 104, "x64 layout of MIB_IPFORWARD_ROW2"


class MIB_IPFORWARD_TABLE2(ctypes.Structure):
    _fields_ = [("NumEntries", ULONG), ("Table", MIB_IPFORWARD_ROW2 * 1)]


class MIB_IPNET_ROW2(ctypes.Structure):
    _fields_ = [
        ("Address", SOCKADDR_INET), ("InterfaceIndex", ULONG), ("InterfaceLuid", ULONG64),
        ("PhysicalAddress", ctypes.c_ubyte * 32), ("PhysicalAddressLength", ULONG),
        ("State", ctypes.c_int), ("Flags", ctypes.c_ubyte), ("ReachabilityTime", ULONG)]


assert ctypes.sizeof(MIB_IPNET_ROW2) == 88, "x64 layout of MIB_IPNET_ROW2"


class MIB_IPNET_TABLE2(ctypes.Structure):
    _fields_ = [("NumEntries", ULONG), ("Table", MIB_IPNET_ROW2 * 1)]


def _address_at(address: int) -> str | None:
    """The SOCKADDR (IPv4 or IPv6, Windows' family numbers) stored at a memory address, as text."""
    raw = bytes(ctypes.string_at(address, 28))
    family = int.from_bytes(raw[:2], "little")
    if family == AF_INET:
        return str(ipaddress.IPv4Address(raw[4:8]))
    if family == AF_INET6:
        return str(ipaddress.IPv6Address(raw[8:24]))
    return None


def _sockaddr(pointer: Any) -> str | None:
    """A SOCKADDR behind a pointer (None for a null pointer)."""
    return _address_at(ctypes.addressof(pointer.contents)) if pointer else None


def _sockaddr_inet(value: SOCKADDR_INET) -> str | None:
    return _address_at(ctypes.addressof(value))


def _chain(first: Any):
    node = first
    while node:
        yield node.contents
        node = node.contents.Next


def _hex(data, length: int) -> str | None:
    return bytes(data[:length]).hex() if length else None


def _iphlpapi():
    return ctypes.WinDLL("iphlpapi.dll", use_last_error=True)


def adapters() -> list[dict]:
    api = _iphlpapi()
    size = ULONG(15000)
    flags = GAA_FLAG_INCLUDE_PREFIX | GAA_FLAG_INCLUDE_GATEWAYS
    for _ in range(4):
        buffer = ctypes.create_string_buffer(size.value)
        result = api.GetAdaptersAddresses(AF_UNSPEC, flags, None, buffer, ctypes.byref(size))
        if result != ERROR_BUFFER_OVERFLOW:
            break
    if result != NO_ERROR:
        raise OSError(result, f"GetAdaptersAddresses failed ({result})")
    found = []
    for entry in _chain(ctypes.cast(buffer, ctypes.POINTER(IP_ADAPTER_ADDRESSES))):
        found.append({
            "if_index": entry.IfIndex or entry.Ipv6IfIndex,
            "adapter_name": (entry.AdapterName or b"").decode("ascii", "replace"),
            "friendly_name": entry.FriendlyName, "description": entry.Description,
            "if_type": entry.IfType, "oper_status": entry.OperStatus, "mtu": entry.Mtu,
            "flags": entry.Flags, "mac": _hex(entry.PhysicalAddress, entry.PhysicalAddressLength),
            "transmit_link_speed": entry.TransmitLinkSpeed,
            "ipv4_metric": entry.Ipv4Metric, "ipv6_metric": entry.Ipv6Metric,
            "unicast": [{"address": _sockaddr(u.Address.lpSockaddr),
                         "prefix_length": u.OnLinkPrefixLength, "prefix_origin": u.PrefixOrigin,
                         "suffix_origin": u.SuffixOrigin}
                        for u in _chain(entry.FirstUnicastAddress)
                        if _sockaddr(u.Address.lpSockaddr)],
            "dns_servers": [a for a in (_sockaddr(d.Address.lpSockaddr)
                                        for d in _chain(entry.FirstDnsServerAddress)) if a],
            "gateways": [a for a in (_sockaddr(g.Address.lpSockaddr)
                                     for g in _chain(entry.FirstGatewayAddress)) if a],
        })
    return found


def _table(function: str, table_type: Any, family: int | None = AF_UNSPEC) -> list[Any]:
    api = _iphlpapi()
    pointer = ctypes.POINTER(table_type)()
    result = (getattr(api, function)(ctypes.byref(pointer)) if family is None
              else getattr(api, function)(family, ctypes.byref(pointer)))
    if result != NO_ERROR:
        raise OSError(result, f"{function} failed ({result})")
    try:
        row_type = table_type._fields_[1][1]._type_
        rows = (row_type * pointer.contents.NumEntries).from_address(
            ctypes.addressof(pointer.contents) + table_type.Table.offset)
        return [row_type.from_buffer_copy(row) for row in rows]
    finally:
        api.FreeMibTable(pointer)


def if_table() -> list[dict]:
    return [{"if_index": row.InterfaceIndex, "alias": row.Alias, "type": row.Type,
             "admin_status": row.AdminStatus, "oper_status": row.OperStatus,
             "media_connect_state": row.MediaConnectState,
             "hardware_interface": bool(row.InterfaceAndOperStatusFlags & 0x1),
             "physical_medium_type": row.PhysicalMediumType,
             "transmit_link_speed": row.TransmitLinkSpeed}
            for row in _table("GetIfTable2", MIB_IF_TABLE2, None)]


def routes() -> list[dict]:
    return [{"if_index": row.InterfaceIndex,
             "destination": _sockaddr_inet(row.DestinationPrefix.Prefix),
             "prefix_length": row.DestinationPrefix.PrefixLength,
             "next_hop": _sockaddr_inet(row.NextHop), "metric": row.Metric,
             "protocol": row.Protocol}
            for row in _table("GetIpForwardTable2", MIB_IPFORWARD_TABLE2)
            if _sockaddr_inet(row.DestinationPrefix.Prefix)]


def neighbours() -> list[dict]:
    """IPv4 then IPv6 (Wine answers AF_UNSPEC with ERROR_INVALID_FUNCTION; IPv6 may fail too)."""
    rows = _table("GetIpNetTable2", MIB_IPNET_TABLE2, AF_INET)
    try:
        rows += _table("GetIpNetTable2", MIB_IPNET_TABLE2, AF_INET6)
    except OSError:
        pass
    return [{"if_index": row.InterfaceIndex, "address": _sockaddr_inet(row.Address),
             "mac": _hex(row.PhysicalAddress, row.PhysicalAddressLength), "state": row.State}
            for row in rows if _sockaddr_inet(row.Address)]


def proxy_registry() -> dict:
    import winreg
    values: dict[str, Any] = {}
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER,
                            r"Software\Microsoft\Windows\CurrentVersion\Internet Settings") as key:
            for name in ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL",
                         "AutoDetect"):
                try:
                    values[name] = winreg.QueryValueEx(key, name)[0]
                except OSError:
                    pass
    except OSError:
        pass
    return values


def read() -> dict:
    snapshot: dict[str, Any] = {"os": "windows", "errors": {}}
    for key, reader in (("adapters", adapters), ("if_table", if_table), ("routes", routes),
                        ("neighbours", neighbours), ("proxy_registry", proxy_registry)):
        try:
            snapshot[key] = reader()
        except (OSError, AttributeError, ValueError) as exc:
            snapshot[key] = None
            snapshot["errors"][key] = f"{type(exc).__name__}: {exc}"
    return snapshot
