"""The device description: parsed as untrusted XML (defusedxml, DTDs forbidden: no entity bombs,
no external entities), read for who the device is and its WAN services, whose control URLs must
stay on the device."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from .fetch import Cutoff, exchange
from .values import clean, same_device_url

MAX_REDIRECTS = 2        # same-device redirects followed for the description
MAX_LISTED = 8           # services kept in the facts
_SERVICE_TYPE = re.compile(
    r"^urn:schemas-upnp-org:service:(WANIPConnection|WANPPPConnection|WANCommonInterfaceConfig)"
    r":([1-9])$")


def parse_xml(data: bytes):
    """(root element, None) or (None, problem): forbidden_xml for DTDs/entities, bad_xml else."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeElementTree
    try:
        return SafeElementTree.fromstring(data, forbid_dtd=True), None
    except DefusedXmlException:
        return None, "forbidden_xml"
    except (ParseError, ValueError, UnicodeError, RecursionError, TypeError):
        return None, "bad_xml"


def local(tag: Any) -> str:
    """An element's name without its namespace ({urn:...}device -> device)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_text(element, name: str) -> str | None:
    for child in element if element is not None else ():
        if local(child.tag) == name:
            return child.text
    return None


def describe(location: str, address: str, cutoff: Cutoff) -> dict[str, Any]:
    """Fetch and read the device description at location (following same-device redirects)."""
    url = location
    for _ in range(MAX_REDIRECTS + 1):
        reply = exchange(url, cutoff)
        if reply["outcome"] != "redirect":
            break
        url = same_device_url(urljoin(url, reply["location"] or ""), address)
        if url is None:
            return {"outcome": "redirect", "status_code": reply["status_code"]}
    else:
        return {"outcome": "redirect", "status_code": reply["status_code"]}
    if reply["outcome"] != "ok":
        return {"outcome": reply["outcome"], "status_code": reply["status_code"]}
    root, problem = parse_xml(reply["body"])
    if root is None:
        return {"outcome": problem, "status_code": reply["status_code"]}
    return {"outcome": "ok", "status_code": reply["status_code"],
            **read_description(root, url, address)}


def read_description(root, url: str, address: str) -> dict[str, Any]:
    """Who the device is and its WAN services, with control URLs on the device itself."""
    base = url
    url_base = child_text(root, "URLBase")
    if url_base and same_device_url(url_base.strip(), address):
        base = url_base.strip()
    device = next((e for e in root.iter() if local(e.tag) == "device"), None)
    facts: dict[str, Any] = {
        "friendly_name": clean(child_text(device, "friendlyName")),
        "manufacturer": clean(child_text(device, "manufacturer")),
        "model": clean(child_text(device, "modelName")),
        "services": [], "ignored_services": 0,
    }
    for element in root.iter():
        if local(element.tag) != "service":
            continue
        match = _SERVICE_TYPE.match((child_text(element, "serviceType") or "").strip())
        if not match:
            continue
        control = same_device_url(urljoin(base, (child_text(element, "controlURL") or "").strip()),
                                  address)
        if control is None or len(facts["services"]) >= MAX_LISTED:
            facts["ignored_services"] += 1
            continue
        facts["services"].append({"name": match.group(1), "version": int(match.group(2)),
                                  "service_type": match.group(0), "control_url": control})
    return facts

