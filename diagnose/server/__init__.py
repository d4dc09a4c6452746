"""The operator's receiving end: ``diagnose-server`` (install with the extra ``server``).

Intake of the reports ``diagnose submit`` posts and of digests read out on the phone, outages
derived from reports that share a locator, and pages for the hotline and the manager. The
layers stay apart: ``intake`` reads and checks what arrives, ``store`` writes and reads the
database (``db`` its tables, ``migrations`` their history), ``outages`` and ``locators`` are
pure logic, ``app`` wires HTTP, ``pages`` renders. See docs/server.md.
"""
