"""An adapter's driver name from the kernel (ETHTOOL_GDRVINFO); needs no privilege."""
from __future__ import annotations

import sys

assert sys.platform == "linux", "ethtool is Linux only"  # mypy: Linux only

import array  # noqa: E402
import fcntl  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO = 0x3
DRVINFO_SIZE = 196  # struct ethtool_drvinfo
IFNAMSIZ = 16


def driver(name: str) -> str | None:
    """'veth', 'e1000e', 'iwlwifi', ...; None when the kernel will not say."""
    encoded = name.encode()
    if not encoded or len(encoded) >= IFNAMSIZ:
        return None
    info = array.array("B", struct.pack("I", ETHTOOL_GDRVINFO) + bytes(DRVINFO_SIZE - 4))
    request = struct.pack(f"{IFNAMSIZ}sP", encoded, info.buffer_info()[0])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
    except OSError:
        return None
    return info[4:36].tobytes().split(b"\0", 1)[0].decode(errors="replace") or None
