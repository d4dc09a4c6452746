"""Packaging for broadband-diagnose (console script: diagnose)."""
from setuptools import setup

setup(
    name="broadband-diagnose",
    version="0.1.0",
    description="Broadband self-diagnosis: sorts a fault to the subscriber's side or the operator's",
    license="GPL-2.0-only",
    python_requires=">=3.10",
    packages=["diagnose", "diagnose.checks", "diagnose.engine", "diagnose.net",
              "diagnose.render", "diagnose.rules"],
    package_dir={"diagnose.rules": "rules"},
    package_data={"diagnose.rules": ["*.yaml"], "diagnose": ["locale/*/LC_MESSAGES/*.mo"]},
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
        "test": ["pytest>=7.4", "pytest-timeout>=2.2", "hypothesis>=6.90", "jsonschema>=4.19"],
    },
    entry_points={"console_scripts": ["diagnose=diagnose.cli:main"]},
)
