"""Message catalogs: compile each .po into the .mo that gettext loads, with Babel.

    python -m diagnose.catalog        # recompile every diagnose/locale/*/LC_MESSAGES/*.po

Babel (a development tool, in the `dev` and `test` extras; gettext's `msgfmt` would do the
same) leaves out fuzzy and untranslated entries and keeps msgctxt; diagnose itself needs only
the compiled .mo at run time.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of the translated, not fuzzy entries; a plural entry is keyed
    'singular\\0plural' with its forms joined by NUL."""
    from babel.messages.pofile import read_po
    found = {}
    for message in read_po(io.StringIO(text)):
        if message.id and message.string and not message.fuzzy:
            plural = isinstance(message.id, tuple)
            found["\0".join(message.id) if plural else message.id] = (
                "\0".join(message.string) if plural else message.string)
    return found


def compile_po(po: Path) -> bytes:
    """The .mo for one .po file."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with po.open("rb") as source:
        messages = read_po(source, abort_invalid=True)
    out = io.BytesIO()
    write_mo(out, messages, use_fuzzy=False)
    return out.getvalue()


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_po(po))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path, file=sys.stderr)
