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
    for key, reader in READERS.items():
        try:
            snapshot[key] = reader()
        except (OSError, AttributeError, ValueError) as exc:
            snapshot[key] = None
            snapshot["errors"][key] = f"{type(exc).__name__}: {exc}"
    return snapshot


# ---- the route chosen per destination (GetBestRoute2) ------------------------------------------

def _sockaddr_inet_of(address: str) -> SOCKADDR_INET:
    value = SOCKADDR_INET()
    parsed = ipaddress.ip_address(address)
    raw = bytearray(ctypes.sizeof(value))
    if parsed.version == 4:
        raw[0:2] = AF_INET.to_bytes(2, "little")
        raw[4:8] = parsed.packed
    else:
        raw[0:2] = AF_INET6.to_bytes(2, "little")
        raw[8:24] = parsed.packed
    ctypes.memmove(ctypes.addressof(value), bytes(raw), len(raw))
    return value


def best_route(target: str) -> dict:
    """{if_index, next_hop, source} of the route Windows picks for target, or {error}."""
    api = _iphlpapi()
    row, source = MIB_IPFORWARD_ROW2(), SOCKADDR_INET()
    destination = _sockaddr_inet_of(target)
    result = api.GetBestRoute2(None, 0, None, ctypes.byref(destination), 0, ctypes.byref(row),
                               ctypes.byref(source))
    if result != NO_ERROR:
        return {"error": result}
    return {"if_index": row.InterfaceIndex, "next_hop": _sockaddr_inet(row.NextHop),
            "source": _sockaddr_inet(source)}


# ---- WinHTTP's view of the user's proxy settings -------------------------------------------------

class WINHTTP_CURRENT_USER_IE_PROXY_CONFIG(ctypes.Structure):
    _fields_ = [("fAutoDetect", wintypes.BOOL), ("lpszAutoConfigUrl", ctypes.c_void_p),
                ("lpszProxy", ctypes.c_void_p), ("lpszProxyBypass", ctypes.c_void_p)]


def proxy_winhttp() -> dict:
    winhttp = ctypes.WinDLL("winhttp.dll", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32.dll")
    kernel32.GlobalFree.argtypes = [ctypes.c_void_p]
    config = WINHTTP_CURRENT_USER_IE_PROXY_CONFIG()
    if not winhttp.WinHttpGetIEProxyConfigForCurrentUser(ctypes.byref(config)):
        raise OSError(ctypes.get_last_error(), "WinHttpGetIEProxyConfigForCurrentUser failed")
    found: dict[str, Any] = {"auto_detect": bool(config.fAutoDetect)}
    for key, pointer in (("auto_config_url", config.lpszAutoConfigUrl),
                         ("proxy", config.lpszProxy), ("proxy_bypass", config.lpszProxyBypass)):
        found[key] = ctypes.wstring_at(pointer) if pointer else None
        if pointer:
            kernel32.GlobalFree(pointer)
    return found


# ---- registry: the hosts file's folder, the firewall's profiles ---------------------------------

TCPIP_PARAMETERS = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
FIREWALL_POLICY = r"SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy"
FIREWALL_GROUP_POLICY = r"SOFTWARE\Policies\Microsoft\WindowsFirewall"
# profile -> (the local key's name, the group policy key's name)
FIREWALL_PROFILES = {"domain": ("DomainProfile", "DomainProfile"),
                     "private": ("StandardProfile", "PrivateProfile"),
                     "public": ("PublicProfile", "PublicProfile")}
FIREWALL_VALUES = ("EnableFirewall", "DefaultInboundAction", "DefaultOutboundAction")


def _registry_values(root: Any, path: str, names: tuple[str, ...]) -> dict | None:
    """The named values of a key (absent ones left out); None when the key does not exist."""
    import winreg
    try:
        key = winreg.OpenKey(root, path)
    except FileNotFoundError:
        return None
    values: dict[str, Any] = {}
    with key:
        for name in names:
            try:
                values[name] = winreg.QueryValueEx(key, name)[0]
            except FileNotFoundError:
                pass
    return values


def hosts_folder() -> dict:
    """Tcpip's DataBasePath (where Windows reads hosts from) and SystemRoot, raw."""
    import os
    import winreg
    values = _registry_values(winreg.HKEY_LOCAL_MACHINE, TCPIP_PARAMETERS, ("DataBasePath",)) or {}
    return {"database_path": values.get("DataBasePath"),
            "system_root": os.environ.get("SystemRoot") or os.environ.get("windir")}


def firewall_registry() -> dict:
    import winreg
    return {profile: {"local": _registry_values(winreg.HKEY_LOCAL_MACHINE,
                                                 rf"{FIREWALL_POLICY}\{local}", FIREWALL_VALUES),
                      "policy": _registry_values(winreg.HKEY_LOCAL_MACHINE,
                                                  rf"{FIREWALL_GROUP_POLICY}\{policy}",
                                                  FIREWALL_VALUES)}
            for profile, (local, policy) in FIREWALL_PROFILES.items()}


# The firewall's profiles in force: INetFwPolicy2.CurrentProfileTypes, read through IDispatch
CLSID_NET_FW_POLICY2 = "E2B3C97F-6AE1-41AC-817A-F6F92166D7DD"


def firewall_current() -> dict:
    from .com_dispatch import read_property
    return {"current_profile_types": read_property(CLSID_NET_FW_POLICY2, "CurrentProfileTypes")}


# ---- RAS: phonebook entries, active connections ------------------------------------------------
# The structures (ras.h packs them to 4 bytes) and rasapi32's signatures: ras_api.py, whose
# layouts the unit tests check on any 64-bit host.

from .ras_api import DWORD as RAS_DWORD  # noqa: E402
from .ras_api import (ERROR_BUFFER_TOO_SMALL, RASCONNSTATUSW, RASCONNW,  # noqa: E402
                      RASENTRYNAMEW, REPF_ALLUSERS, rasapi32, text_of)


def _ras_enum(function: str, row_type: Any) -> list[Any]:
    """RasEnumEntriesW / RasEnumConnectionsW: grow the array until it fits."""
    api = rasapi32()
    count = 4
    for _ in range(4):
        rows = (row_type * count)()
        for row in rows:
            row.dwSize = ctypes.sizeof(row_type)
        size, found = RAS_DWORD(ctypes.sizeof(rows)), RAS_DWORD(0)
        args = ((None, None) if function == "RasEnumEntriesW" else ())
        result = getattr(api, function)(*args, rows, ctypes.byref(size), ctypes.byref(found))
        if result == ERROR_BUFFER_TOO_SMALL:
            count = max(count * 2, size.value // ctypes.sizeof(row_type) + 1)
            continue
        if result != NO_ERROR:
            raise OSError(result, f"{function} failed ({result})")
        return list(rows[:found.value])
    raise OSError(ERROR_BUFFER_TOO_SMALL, f"{function}: the list kept growing")


def _phonebook_entry(path: str, name: str) -> dict:
    """Type, MEDIA and Device of one entry of a RAS phonebook (an INI file; no secrets are kept
    there: passwords live in the credential store)."""
    import configparser
    try:
        with open(path, "rb") as file:
            data = file.read(1024 * 1024)
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc.strerror}"}
    text = (data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff")
            else data.decode("utf-8-sig", errors="replace"))
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",), comment_prefixes=(";",))
    parser.optionxform = str   # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return {"error": f"phonebook: {type(exc).__name__}"}
    if not parser.has_section(name):
        return {}
    section = parser[name]
    return {key: section.get(key) for key in ("Type", "MEDIA", "Device") if key in section}


def ras_entries() -> list[dict]:
    return [{"name": text_of(row.szEntryName), "all_users": bool(row.dwFlags & REPF_ALLUSERS),
             "phonebook": _phonebook_entry(text_of(row.szPhonebookPath), text_of(row.szEntryName))
             if text_of(row.szPhonebookPath) else {}}
            for row in _ras_enum("RasEnumEntriesW", RASENTRYNAMEW)]


def ras_connections() -> list[dict]:
    api = rasapi32()
    found = []
    for row in _ras_enum("RasEnumConnectionsW", RASCONNW):
        status = RASCONNSTATUSW()
        status.dwSize = ctypes.sizeof(RASCONNSTATUSW)
        result = api.RasGetConnectStatusW(row.hrasconn, ctypes.byref(status))
        found.append({"name": text_of(row.szEntryName), "device_type": text_of(row.szDeviceType),
                      "state": status.rasconnstate if result == NO_ERROR else None,
                      "error": status.dwError if result == NO_ERROR else None,
                      "status_error": result or None})
    return found


# ---- the event log: RasClient's record of recent dials ------------------------------------------

EVT_QUERY_CHANNEL_PATH, EVT_QUERY_REVERSE_DIRECTION, EVT_RENDER_EVENT_XML = 0x1, 0x200, 1
ERROR_NO_MORE_ITEMS, ERROR_INSUFFICIENT_BUFFER = 259, 122
RAS_EVENT_DAYS = 7          # older dials say nothing about today's fault
RAS_EVENT_LIMIT = 40        # newest first: a few dials' worth of stage events
RAS_EVENT_WAIT_MS = 1000


def ras_event_query(days: int = RAS_EVENT_DAYS) -> str:
    return ("*[System[Provider[@Name='RasClient'] and "
            f"TimeCreated[timediff(@SystemTime) <= {days * 86_400_000}]]]")


def ras_events(limit: int = RAS_EVENT_LIMIT) -> list[str]:
    """The newest RasClient events of the Application log, as the XML the system renders."""
    api = ctypes.WinDLL("wevtapi.dll", use_last_error=True)
    api.EvtQuery.restype = ctypes.c_void_p
    api.EvtQuery.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.c_wchar_p, DWORD]
    api.EvtNext.argtypes = [ctypes.c_void_p, DWORD, ctypes.POINTER(ctypes.c_void_p), DWORD, DWORD,
                            ctypes.POINTER(DWORD)]
    api.EvtRender.argtypes = [ctypes.c_void_p, ctypes.c_void_p, DWORD, DWORD, ctypes.c_void_p,
                              ctypes.POINTER(DWORD), ctypes.POINTER(DWORD)]
    api.EvtClose.argtypes = [ctypes.c_void_p]
    query = api.EvtQuery(None, "Application", ras_event_query(),
                         EVT_QUERY_CHANNEL_PATH | EVT_QUERY_REVERSE_DIRECTION)
    if not query:
        raise OSError(ctypes.get_last_error(), "EvtQuery failed")
    found: list[str] = []
    try:
        while len(found) < limit:
            handles = (ctypes.c_void_p * 10)()
            returned = DWORD(0)
            if not api.EvtNext(query, 10, handles, RAS_EVENT_WAIT_MS, 0, ctypes.byref(returned)):
                error = ctypes.get_last_error()
                if error == ERROR_NO_MORE_ITEMS:
                    break
                raise OSError(error, "EvtNext failed")
            for handle in handles[:returned.value]:
                try:
                    if len(found) < limit:
                        found.append(_render(api, handle))
                finally:
                    api.EvtClose(handle)
    finally:
        api.EvtClose(query)
    return found


def _render(api: Any, handle: Any) -> str:
    used, count = DWORD(0), DWORD(0)
    api.EvtRender(None, handle, EVT_RENDER_EVENT_XML, 0, None, ctypes.byref(used),
                  ctypes.byref(count))
    buffer = ctypes.create_unicode_buffer(used.value // 2 + 1)
    if not api.EvtRender(None, handle, EVT_RENDER_EVENT_XML, ctypes.sizeof(buffer), buffer,
                         ctypes.byref(used), ctypes.byref(count)):
        raise OSError(ctypes.get_last_error(), "EvtRender failed")
    return buffer.value


# ---- WLAN: the Wi-Fi link ------------------------------------------------------------------------

WLAN_CLIENT_VERSION = 2
WLAN_INTF_OPCODE_CURRENT_CONNECTION = 7
WLAN_INTF_OPCODE_CHANNEL_NUMBER = 8
WLAN_INTF_OPCODE_RSSI = 0x10000102


class WLAN_INTERFACE_INFO(ctypes.Structure):
    _fields_ = [("InterfaceGuid", GUID), ("strInterfaceDescription", ctypes.c_wchar * 256),
                ("isState", ctypes.c_int)]


class WLAN_INTERFACE_INFO_LIST(ctypes.Structure):
    _fields_ = [("dwNumberOfItems", DWORD), ("dwIndex", DWORD),
                ("InterfaceInfo", WLAN_INTERFACE_INFO * 1)]


class DOT11_SSID(ctypes.Structure):
    _fields_ = [("uSSIDLength", ULONG), ("ucSSID", ctypes.c_ubyte * 32)]


class WLAN_ASSOCIATION_ATTRIBUTES(ctypes.Structure):
    _fields_ = [("dot11Ssid", DOT11_SSID), ("dot11BssType", ctypes.c_int),
                ("dot11Bssid", ctypes.c_ubyte * 6), ("dot11PhyType", ctypes.c_int),
                ("uDot11PhyIndex", ULONG), ("wlanSignalQuality", ULONG),
                ("ulRxRate", ULONG), ("ulTxRate", ULONG)]


class WLAN_SECURITY_ATTRIBUTES(ctypes.Structure):
    _fields_ = [("bSecurityEnabled", wintypes.BOOL), ("bOneXEnabled", wintypes.BOOL),
                ("dot11AuthAlgorithm", ctypes.c_int), ("dot11CipherAlgorithm", ctypes.c_int)]


class WLAN_CONNECTION_ATTRIBUTES(ctypes.Structure):
    _fields_ = [("isState", ctypes.c_int), ("wlanConnectionMode", ctypes.c_int),
                ("strProfileName", ctypes.c_wchar * 256),
                ("wlanAssociationAttributes", WLAN_ASSOCIATION_ATTRIBUTES),
                ("wlanSecurityAttributes", WLAN_SECURITY_ATTRIBUTES)]


def guid_text(guid: GUID) -> str:
    """{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}, as AdapterName spells an adapter's GUID."""
    import uuid
    return "{" + str(uuid.UUID(bytes_le=bytes(guid.data))).upper() + "}"


def wlan_interfaces() -> list[dict]:
    """Each Wi-Fi interface: its GUID, state and (when associated) link figures, raw."""
    api = ctypes.WinDLL("wlanapi.dll")
    api.WlanFreeMemory.argtypes = [ctypes.c_void_p]
    handle, negotiated = ctypes.c_void_p(), DWORD(0)
    result = api.WlanOpenHandle(WLAN_CLIENT_VERSION, None, ctypes.byref(negotiated),
                                ctypes.byref(handle))
    if result != NO_ERROR:
        raise OSError(result, f"WlanOpenHandle failed ({result})")
    try:
        listing = ctypes.POINTER(WLAN_INTERFACE_INFO_LIST)()
        result = api.WlanEnumInterfaces(handle, None, ctypes.byref(listing))
        if result != NO_ERROR:
            raise OSError(result, f"WlanEnumInterfaces failed ({result})")
        try:
            count = listing.contents.dwNumberOfItems
            infos = [WLAN_INTERFACE_INFO.from_buffer_copy(info) for info in
                     (WLAN_INTERFACE_INFO * count).from_address(
                         ctypes.addressof(listing.contents.InterfaceInfo))]
        finally:
            api.WlanFreeMemory(listing)
        return [_wlan_interface(api, handle, info) for info in infos]
    finally:
        api.WlanCloseHandle(handle, None)


def _wlan_query(api: Any, handle: Any, guid: GUID, opcode: int, value_type: Any) -> Any:
    size, data = DWORD(0), ctypes.c_void_p()
    result = api.WlanQueryInterface(handle, ctypes.byref(guid), opcode, None, ctypes.byref(size),
                                    ctypes.byref(data), None)
    if result != NO_ERROR or not data:
        return result or None
    try:
        wanted = ctypes.sizeof(value_type)
        raw = ctypes.string_at(data, min(size.value, wanted))
        return value_type.from_buffer_copy(raw.ljust(wanted, b"\0"))
    finally:
        api.WlanFreeMemory(data)


def _wlan_interface(api: Any, handle: Any, info: WLAN_INTERFACE_INFO) -> dict:
    guid = info.InterfaceGuid
    found: dict[str, Any] = {"guid": guid_text(guid), "state": info.isState}
    connection = _wlan_query(api, handle, guid, WLAN_INTF_OPCODE_CURRENT_CONNECTION,
                             WLAN_CONNECTION_ATTRIBUTES)
    if isinstance(connection, WLAN_CONNECTION_ATTRIBUTES):
        association = connection.wlanAssociationAttributes
        found.update(signal_quality=association.wlanSignalQuality,
                     rx_rate_kbps=association.ulRxRate, tx_rate_kbps=association.ulTxRate,
                     phy_type=association.dot11PhyType)
    else:
        found["connection_error"] = connection
    rssi = _wlan_query(api, handle, guid, WLAN_INTF_OPCODE_RSSI, ctypes.c_long)
    found["rssi_dbm"] = rssi.value if isinstance(rssi, ctypes.c_long) else None
    channel = _wlan_query(api, handle, guid, WLAN_INTF_OPCODE_CHANNEL_NUMBER, ctypes.c_ulong)
    found["channel"] = channel.value if isinstance(channel, ctypes.c_ulong) else None
    return found


# what read() takes at once (one snapshot of the IP Helper tables); the rest is read when asked
READERS = {"adapters": adapters, "if_table": if_table, "routes": routes, "neighbours": neighbours,
           "proxy_registry": proxy_registry}
PART_READERS = {"proxy_winhttp": proxy_winhttp, "hosts_folder": hosts_folder,
                "firewall_registry": firewall_registry, "firewall_current": firewall_current,
                "ras_entries": ras_entries,
                "ras_connections": ras_connections, "ras_events": ras_events,
                "wlan_interfaces": wlan_interfaces}


def read_part(key: str) -> tuple[Any, str | None]:
    """One further part of the snapshot: (value, None), or (None, why it could not be read)."""
    try:
        return PART_READERS[key](), None
    except (OSError, AttributeError, ValueError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
