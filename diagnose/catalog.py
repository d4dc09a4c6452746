"""Message catalogs: read a .po file, write the compiled .mo that gettext loads.

    python -m diagnose.catalog        # recompile every diagnose/locale/*/LC_MESSAGES/*.po
"""
from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
MO_MAGIC = 0x950412DE


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr; a plural entry is keyed 'singular\\0plural' with forms joined by NUL."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    field = None

    def flush() -> None:
        if "msgid" in current:
            msgid = "".join(current["msgid"])
            if "msgid_plural" in current:
                msgid += "\0" + "".join(current["msgid_plural"])
                forms = sorted(k for k in current if k.startswith("msgstr["))
                msgstr = "\0".join("".join(current[k]) for k in forms)
            else:
                msgstr = "".join(current.get("msgstr", []))
            entries[msgid] = msgstr
        current.clear()

    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if field is None:
                raise ValueError(f"line {number}: text outside an entry")
            current[field].append(ast.literal_eval(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid" and "msgid" in current:
            flush()
        field = keyword
        current[field] = [ast.literal_eval(rest)]
    flush()
    return entries


def write_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo, sorted by msgid, without a hash table; untranslated entries are left out."""
    items = sorted((k.encode(), v.encode()) for k, v in entries.items() if v or not k)
    header = 7 * 4
    ids_table = header
    strs_table = ids_table + 8 * len(items)
    data = strs_table + 8 * len(items)
    offsets, blob = [], b""
    for key, value in items:
        offsets.append((len(key), data + len(blob)))
        blob += key + b"\0"
    str_offsets = []
    for key, value in items:
        str_offsets.append((len(value), data + len(blob)))
        blob += value + b"\0"
    out = struct.pack("<7I", MO_MAGIC, 0, len(items), ids_table, strs_table, 0, 0)
    out += b"".join(struct.pack("<2I", *o) for o in offsets)
    out += b"".join(struct.pack("<2I", *o) for o in str_offsets)
    return out + blob


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(write_mo(parse_po(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path, file=sys.stderr)
