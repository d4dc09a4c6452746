"""UPnP Internet Gateway Device (IGD): SSDP search, device description, SOAP status queries.

A device on the LAN is untrusted input. Every datagram, description and SOAP reply is
size-limited; every HTTP exchange runs under a hard deadline for the whole exchange; XML is
parsed by defusedxml with DTDs forbidden; a URL a device hands out must stay on that device;
numbers are ASCII digits of bounded length. Observations only: never raises.

One module per job: `ssdp` (search and answers), `fetch` (HTTP under a Cutoff), `documents`
(XML and the device description), `soap` (status queries), `values` (what a device's text,
numbers and addresses may become in a report).
"""
from __future__ import annotations

from .documents import child_text, describe, local, parse_xml, read_description
from .fetch import MAX_DOCUMENT, Cutoff, exchange
from .soap import CONNECTION_SERVICES, LINK_SERVICE, MAX_CONNECTIONS, query, soap
from .ssdp import (MAX_DATAGRAM, MAX_DATAGRAMS, MAX_LISTED, SEARCH_TARGETS, SSDP_GROUP,
                   parse_answer, search, search_message)
from .ssdp import _take  # noqa: F401  (tests feed it datagrams directly)
from .values import (MAX_DIGITS, MAX_TEXT, address_kind, clean, malformed_number,
                     same_device_url, token, whole_number)

__all__ = ["child_text", "describe", "local", "parse_xml", "read_description", "MAX_DOCUMENT",
           "Cutoff", "exchange", "CONNECTION_SERVICES", "LINK_SERVICE", "MAX_CONNECTIONS", "query",
           "soap", "MAX_DATAGRAM", "MAX_DATAGRAMS", "MAX_LISTED", "SEARCH_TARGETS", "SSDP_GROUP",
           "parse_answer", "search", "search_message", "MAX_DIGITS", "MAX_TEXT", "address_kind",
           "clean", "malformed_number", "same_device_url", "token", "whole_number"]
