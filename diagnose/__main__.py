import sys

from . import interrupts

interrupts.install()   # before the rest loads: a Ctrl-C then is a stop, not a traceback

from .cli import main  # noqa: E402

sys.exit(main())
