"""SOAP status queries to the gateway's WAN services, all at once under one cutoff."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .documents import child_text, local, parse_xml
from .fetch import Cutoff, exchange
from .values import clean, whole_number

MAX_CONNECTIONS = 2      # WAN connection services queried (a router has one or two)
MAX_VALUES = 16          # values kept from one answer
CONNECTION_SERVICES = ("WANIPConnection", "WANPPPConnection")
LINK_SERVICE = "WANCommonInterfaceConfig"
_SOAP_ENVELOPE = (
    '<?xml version="1.0"?>\r\n'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    '<s:Body><u:{action} xmlns:u="{service}"/></s:Body></s:Envelope>\r\n')


def soap(service: dict[str, Any], action: str, cutoff: Cutoff) -> dict[str, Any]:
    """Call an argument-less action; outcome ok with `values`, fault with its UPnP error, or why not."""
    service_type = service["service_type"]   # matched _SERVICE_TYPE: safe in a header
    reply = exchange(service["control_url"], cutoff,
                     body=_SOAP_ENVELOPE.format(action=action, service=service_type).encode(),
                     headers={"Content-Type": 'text/xml; charset="utf-8"',
                              "SOAPAction": f'"{service_type}#{action}"'})
    fault = reply["outcome"] == "http_error" and reply["status_code"] == 500 and reply["body"]
    if reply["outcome"] != "ok" and not fault:
        return {"outcome": reply["outcome"], "status_code": reply["status_code"]}
    root, problem = parse_xml(reply["body"])
    if root is None:
        return {"outcome": problem, "status_code": reply["status_code"]}
    if fault:
        error = next((e for e in root.iter() if local(e.tag) == "UPnPError"), None)
        code = child_text(error, "errorCode")
        fault_code = whole_number(code)
        if code is not None and code.strip() and fault_code is None:
            return {"outcome": "bad_reply", "status_code": 500}   # e.g. 5000 digits, or not ASCII
        return {"outcome": "fault", "status_code": 500, "fault_code": fault_code,
                "fault": clean(child_text(error, "errorDescription"))}
    answer = next((e for e in root.iter() if local(e.tag) == f"{action}Response"), None)
    if answer is None:
        return {"outcome": "bad_reply", "status_code": reply["status_code"]}
    values = {}
    for child in list(answer)[:MAX_VALUES]:
        values[local(child.tag)] = child.text if isinstance(child.text, str) else None
    return {"outcome": "ok", "status_code": reply["status_code"], "values": values}


def query(services: list[dict[str, Any]], cutoff: Cutoff) -> dict[str, Any]:
    """All status actions at once: per connection service GetStatusInfo and GetExternalIPAddress,
    and GetCommonLinkProperties. {"connections": [{service, calls}], "link": {...} | None}."""
    connections = [s for s in services if s["name"] in CONNECTION_SERVICES][:MAX_CONNECTIONS]
    link = next((s for s in services if s["name"] == LINK_SERVICE), None)
    calls = [(s, action) for s in connections
             for action in ("GetStatusInfo", "GetExternalIPAddress")]
    if link is not None:
        calls.append((link, "GetCommonLinkProperties"))
    if not calls:
        return {"connections": [], "link": None}
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(soap, service, action, cutoff) for service, action in calls]
        answers = [future.result() for future in futures]
    by_call = {(id(service), action): answer for (service, action), answer in zip(calls, answers)}
    return {
        "connections": [{"service": s, "status": by_call[(id(s), "GetStatusInfo")],
                         "external": by_call[(id(s), "GetExternalIPAddress")]}
                        for s in connections],
        "link": by_call[(id(link), "GetCommonLinkProperties")] if link is not None else None,
    }

