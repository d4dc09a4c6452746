"""Packaging shim: everything is declared in pyproject.toml (PEP 621)."""
from setuptools import setup

setup()
