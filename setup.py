"""Packaging for broadband-diagnose (console scripts: diagnose; diagnose-server with the extra "server")."""
from setuptools import setup

# The operator's receiving end (diagnose-server), kept out of the subscriber's install.
SERVER_REQUIRES = [
    "fastapi>=0.110",           # ASGI app, request parsing, the OpenAPI document of the intake API
    "uvicorn>=0.29",            # the ASGI server
    "httptools>=0.6",           # uvicorn's fast HTTP parser (ingest rate)
    "uvloop>=0.19; sys_platform != 'win32'",   # uvicorn's fast event loop (ingest rate)
    "sqlalchemy>=2.0",          # one data layer for SQLite and PostgreSQL
    "alembic>=1.13",            # schema migrations of the server's database
    "psycopg[binary]>=3.1",     # PostgreSQL driver
    "jsonschema>=4.19",         # validates reports against diagnose/report.schema.json
    "fastjsonschema>=2.19",     # the same schema compiled to code: 20x faster on the intake path
    "jinja2>=3.1",              # the pages' templates, autoescaped
    "python-multipart>=0.0.9",  # the login form
    "itsdangerous>=2.1",        # the signed session cookie of the login
    "prometheus-client>=0.20",  # /metrics
    "pyarrow>=14",              # export to Parquet
]

setup(
    name="broadband-diagnose",
    version="0.1.0",
    description="Broadband self-diagnosis: sorts a fault to the subscriber's side or the operator's",
    license="GPL-2.0-only",
    python_requires=">=3.10",
    packages=["diagnose", "diagnose.checks", "diagnose.engine", "diagnose.net",
              "diagnose.render", "diagnose.rules", "diagnose.server",
              "diagnose.server.migrations", "diagnose.server.migrations.versions"],
    package_dir={"diagnose.rules": "rules"},
    package_data={"diagnose.rules": ["*.yaml"],
                  "diagnose": ["locale/*/LC_MESSAGES/*.mo", "report.schema.json"],
                  "diagnose.server": ["templates/*.html", "static/*"],
                  "diagnose.server.migrations": ["script.py.mako"]},
    install_requires=[
        "click>=8.1",
        "psutil>=5.9",
        "requests>=2.31",
        "pyyaml>=6.0",
        "scapy>=2.5",
        "dnspython>=2.4",
        "icmplib>=3.0",
        "defusedxml>=0.7",
    ],
    extras_require={
        "server": SERVER_REQUIRES,
        # httpx: the server's in-process test client; selenium drives Debian's chromium.
        "test": ["pytest>=7.4", "pytest-timeout>=2.2", "hypothesis>=6.90", "jsonschema>=4.19",
                 "httpx>=0.25", "selenium>=4.15"] + SERVER_REQUIRES,
    },
    entry_points={"console_scripts": ["diagnose=diagnose.cli:main",
                                      "diagnose-server=diagnose.server.cli:main"]},
)
