"""Vectorized decoding of pgoutput TupleData: many raw row messages → one Arrow array per column.

The decoder's hot path only keeps each row message as it came (bytes and the offset of its
tuple). Here all rows of a table are decoded together with numpy, one column at a time: kind
bytes, lengths and value slices are read for every row at once, so Python does per-column work,
not per-value work. Text stays text: DuckDB casts whole columns when it applies the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from kuaike.errors import MessageError

_T, _N, _U = 116, 110, 117  # 't' text, 'n' null, 'u' unchanged TOAST


@dataclass
class Segment:
    """Raw rows of one table sharing one Relation (column list), in log order."""

    names: list[str]
    raws: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)


@dataclass
class Columns:
    """Decoded columns: Arrow large_string arrays, and where UNCHANGED values were."""

    rows: int
    arrays: dict[str, pa.Array]
    unchanged: dict[str, pa.Array]


def decode(segment: Segment) -> Columns:
    """Decode every row of a segment; MessageError on a malformed tuple."""
    n = len(segment.raws)
    lengths = np.fromiter(map(len, segment.raws), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    data = np.frombuffer(b"".join(segment.raws) + b"\0" * 8, dtype=np.uint8)
    pos = starts + np.asarray(segment.offsets, dtype=np.int64)
    counts = (data[pos].astype(np.int64) << 8) | data[pos + 1]
    if n and not np.all(counts == len(segment.names)):
        raise MessageError("pgoutput tuple with a column count its Relation does not have")
    pos += 2
    arrays: dict[str, pa.Array] = {}
    unchanged: dict[str, pa.Array] = {}
    for name in segment.names:
        kind = data[pos]
        text = kind == _T
        if not np.all(text | (kind == _N) | (kind == _U)):
            raise MessageError("pgoutput tuple value of an unknown kind (proto_version 1?)")
        size = (
            (data[pos + 1].astype(np.int64) << 24)
            | (data[pos + 2].astype(np.int64) << 16)
            | (data[pos + 3].astype(np.int64) << 8)
            | data[pos + 4]
        )
        size = np.where(text, size, 0)
        arrays[name] = _strings(data, pos + 5, size, text)
        if np.any(kind == _U):
            unchanged[name] = pa.array(kind == _U)
        pos = pos + np.where(text, 5 + size, 1)
    return Columns(n, arrays, unchanged)


def _strings(data: Any, starts: Any, sizes: Any, valid: Any) -> pa.Array:
    """Gather variable-length slices of `data` into one Arrow large_string array."""
    n = len(sizes)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    total = int(offsets[-1])
    if total:
        index = np.repeat(starts - offsets[:-1], sizes) + np.arange(total, dtype=np.int64)
        values = data[index].tobytes()
    else:
        values = b""
    validity = pa.array(valid).buffers()[1] if not np.all(valid) else None
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(values), validity
    )
    try:
        array.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise MessageError(f"pgoutput text value is not valid UTF-8 ({exc})") from exc
    return array


def concat(parts: list[Columns], names: list[str]) -> Columns:
    """Segments of one table joined in order; a column missing from a segment is NULL there."""
    if len(parts) == 1:
        return parts[0]
    arrays: dict[str, pa.Array] = {}
    unchanged: dict[str, pa.Array] = {}
    for name in names:
        arrays[name] = pa.concat_arrays(
            [p.arrays.get(name, pa.nulls(p.rows, pa.large_string())) for p in parts]
        )
        if any(name in p.unchanged for p in parts):
            unchanged[name] = pa.concat_arrays(
                [p.unchanged.get(name, pa.array([False] * p.rows)) for p in parts]
            )
    return Columns(sum(p.rows for p in parts), arrays, unchanged)
