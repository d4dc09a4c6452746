"""Run diagnose from a checkout: python cli.py [OPTIONS]."""
import sys

from diagnose.cli import main

if __name__ == "__main__":
    sys.exit(main())
