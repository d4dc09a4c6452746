"""Export of the stored reports to Parquet, for analysis elsewhere (DuckDB reads it directly).

pyarrow writes it: the reference Parquet implementation, columnar and compressed, streamed in
batches so a million reports never sit in memory at once.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import store

SCHEMA = pa.schema([
    ("id", pa.string()), ("source", pa.string()), ("received_at", pa.timestamp("ms", tz="UTC")),
    ("observed_at", pa.timestamp("ms", tz="UTC")), ("installation", pa.string()),
    ("side", pa.string()), ("code", pa.string()), ("digest", pa.string()), ("ticket", pa.string()),
    ("report", pa.string()),   # the stored JSON: DuckDB's json functions read into it
])


def to_parquet(engine, path: os.PathLike | str) -> int:
    """Write every report to path (whole or not at all); the number written."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.tmp")
    written = 0
    try:
        with pq.ParquetWriter(temp, SCHEMA, compression="zstd") as writer:
            for rows in store.iter_reports(engine):
                columns = {
                    "id": [r.id for r in rows], "source": [r.source for r in rows],
                    "received_at": [r.received_at for r in rows],
                    "observed_at": [r.observed_at for r in rows],
                    "installation": [r.installation for r in rows], "side": [r.side for r in rows],
                    "code": [r.code for r in rows], "digest": [r.digest for r in rows],
                    "ticket": [r.ticket for r in rows], "report": [r.body for r in rows]}
                writer.write_table(pa.table(columns, schema=SCHEMA))
                written += len(rows)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return written
